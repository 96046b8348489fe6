//! `results.csv`: RFC 4180 (comma-separated, `\r\n` line ends, fields quoted when they hold a comma, quote
//! or line break), UTF-8 with a byte-order mark so spreadsheet programs detect the encoding.
//!
//! One header line, then one line per ranked visible idea in rank order, and nothing else: the method,
//! computed_at and digest are repeated as the last columns of every line, so each line (and any excerpt
//! of the file) says how it was produced. See [`csv_columns`] for the columns.

use std::borrow::Borrow;
use std::io::Write;

use crate::compute::RankedIdea;
use crate::error::TallyError;
use crate::export::{ExportHeader, format_score, format_time, guard_formula};

/// The UTF-8 byte-order mark that opens the file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The header line, in order:
///
/// `rank, shortlist_position, pinned, excluded, excluded_reason, idea_id, title, session_id, session,
/// author, created_at, score, up, down, voters, comments, theme`, then for each audience of the header in order
/// `up (NAME), down (NAME)`, then `method, computed_at, digest`.
///
/// - `rank`: place by the method among all visible ideas (1..); `shortlist_position`: place on the curated
///   shortlist, empty when not on it.
/// - `pinned`, `excluded`: `true` or `false`; `excluded_reason`: empty unless excluded.
/// - `theme`: the label of the idea's theme (its terms joined by `, `), empty when it has none.
/// - `score`: see [`format_score`]; times: RFC 3339 UTC; text: formula-guarded ([`guard_formula`]).
pub fn csv_columns(audiences: &[String]) -> Vec<String> {
    let mut columns: Vec<String> = [
        "rank",
        "shortlist_position",
        "pinned",
        "excluded",
        "excluded_reason",
        "idea_id",
        "title",
        "session_id",
        "session",
        "author",
        "created_at",
        "score",
        "up",
        "down",
        "voters",
        "comments",
        "theme",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for name in audiences {
        columns.push(guard_formula(&format!("up ({name})")).into_owned());
        columns.push(guard_formula(&format!("down ({name})")).into_owned());
    }
    columns.extend(["method", "computed_at", "digest"].map(String::from));
    columns
}

/// Writes `results.csv` to `out`, one line per row as they come; returns the number of idea lines.
pub fn write_csv<W, R>(
    mut out: W,
    header: &ExportHeader,
    rows: impl IntoIterator<Item = R>,
) -> Result<u64, TallyError>
where
    W: Write,
    R: Borrow<RankedIdea>,
{
    out.write_all(BOM)?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    csv.write_record(csv_columns(&header.audiences))?;

    let method = header.params.method.as_str();
    let computed_at = format_time(header.computed_at);
    let digest = header.digest.to_string();
    let mut count = 0u64;
    let mut record: Vec<String> = Vec::new();
    for row in rows {
        let row = row.borrow();
        record.clear();
        record.push(row.rank.to_string());
        record.push(row.shortlist_position.map(|p| p.to_string()).unwrap_or_default());
        record.push(row.pinned.to_string());
        record.push(row.excluded_reason.is_some().to_string());
        record.push(guard_formula(row.excluded_reason.as_deref().unwrap_or_default()).into_owned());
        record.push(row.idea.id.to_string());
        record.push(guard_formula(&row.idea.title).into_owned());
        record.push(row.idea.session_id.to_string());
        record.push(guard_formula(&row.idea.session_title).into_owned());
        record.push(guard_formula(&row.idea.author).into_owned());
        record.push(format_time(row.idea.created_at));
        record.push(format_score(header.params.method, row.score));
        record.push(row.up.to_string());
        record.push(row.down.to_string());
        record.push(row.voters.to_string());
        record.push(row.comments.to_string());
        record.push(guard_formula(row.idea.theme.as_deref().unwrap_or_default()).into_owned());
        for name in &header.audiences {
            let counts = row.by_audience.get(name).copied().unwrap_or_default();
            record.push(counts.up.to_string());
            record.push(counts.down.to_string());
        }
        record.push(method.to_owned());
        record.push(computed_at.clone());
        record.push(digest.clone());
        csv.write_record(&record)?;
        count += 1;
    }
    csv.flush()?;
    Ok(count)
}
