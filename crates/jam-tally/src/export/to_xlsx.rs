//! `results.xlsx`, four sheets and two more when there is something to show:
//!
//! - **Shortlist**: the curated shortlist (columns in [`SHORTLIST_COLUMNS`] plus `up (NAME)`, `down (NAME)`
//!   per audience) and a bar chart of the scores.
//! - **All ideas**: every ranked visible idea ([`ALL_COLUMNS`]; the CSV's columns without the per-audience
//!   and the method/computed_at/digest columns).
//! - **By audience**: one row per idea: rank, idea id, title, up, down, then `up (NAME)`, `down (NAME)` per
//!   audience of the header (wide, so it never runs into the sheet's row limit).
//! - **Method**: jam, method, parameters, computed_at, digest, counts, the curation decisions with reasons,
//!   and the method in plain words.
//! - **Themes** (when some ranked idea has a theme): one row per theme label ([`THEME_COLUMNS`]): its
//!   ranked ideas, how many are on the shortlist, its best rank and its votes, best-ranked first.
//! - **Mood** (when the hourly mood series is given).
//!
//! Row 1 of every table is its header. "All ideas" and "By audience" are written in rust_xlsxwriter's
//! constant-memory mode (rows go to a temporary file as they are written); "Shortlist" and "Method" are
//! small and built in memory after the rows have streamed by. The chart reads its data from the
//! "Shortlist" sheet, which is an ordinary sheet, so its cached values are complete.
//!
//! Text cells hold the exact text as strings (never formulas); scores are exact numbers shown with
//! [`super::format_score`]'s decimals; ids and times are text; `pinned` and `excluded` are booleans.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::io::Write;

use rust_xlsxwriter::{Chart, ChartType, ColNum, Format, RowNum, Workbook, Worksheet, XlsxError};
use uuid::Uuid;

use crate::compute::RankedIdea;
use crate::error::TallyError;
use crate::export::{
    ExportHeader, ShortlistCollector, XlsxOptions, format_time, method_explanation, score_decimals,
};

/// Columns of "Themes".
pub const THEME_COLUMNS: [&str; 6] = ["theme", "ideas", "shortlisted", "best_rank", "up", "down"];

/// One theme's row of "Themes", summed over its ranked ideas as they stream by.
#[derive(Debug, Default)]
struct ThemeRow {
    ideas: u64,
    shortlisted: u64,
    best_rank: usize,
    up: u64,
    down: u64,
}

/// Columns of "All ideas".
pub const ALL_COLUMNS: [&str; 17] = [
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
];

/// Columns of "Shortlist" before the per-audience ones.
pub const SHORTLIST_COLUMNS: [&str; 12] = [
    "position", "rank", "pinned", "idea_id", "title", "session", "author", "score", "up", "down", "voters",
    "comments",
];

const SHORTLIST_TITLE_COL: ColNum = 4;
const SHORTLIST_SCORE_COL: ColNum = 7;

/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;

struct Formats {
    bold: Format,
    score: Format,
    wrap: Format,
}

/// Writes `results.xlsx` to `out`; returns the number of ideas written to "All ideas".
pub fn write_xlsx<W, R>(
    out: W,
    header: &ExportHeader,
    rows: impl IntoIterator<Item = R>,
    options: &XlsxOptions,
) -> Result<u64, TallyError>
where
    W: Write + Send,
    R: Borrow<RankedIdea>,
{
    let mut workbook = Workbook::new();
    if let Some(dir) = &options.tempdir {
        workbook.set_tempdir(dir)?;
    }
    let decimals = score_decimals(header.params.method);
    let formats = Formats {
        bold: Format::new().set_bold(),
        score: Format::new().set_num_format(if decimals == 0 {
            "0".to_owned()
        } else {
            format!("0.{}", "0".repeat(decimals))
        }),
        wrap: Format::new().set_text_wrap(),
    };

    let mut all = workbook.new_worksheet_with_constant_memory()?;
    all.set_name("All ideas")?;
    let mut by_audience = workbook.new_worksheet_with_constant_memory()?;
    by_audience.set_name("By audience")?;
    prepare_all_ideas(&mut all, &formats)?;
    prepare_by_audience(&mut by_audience, header, &formats)?;

    let curated: HashMap<Uuid, ()> = header
        .curation
        .excluded
        .iter()
        .map(|e| e.idea_id)
        .chain(header.curation.pinned.iter().copied())
        .map(|id| (id, ()))
        .collect();
    let mut curated_titles: HashMap<Uuid, String> = HashMap::new();
    let mut shortlist = ShortlistCollector::default();
    let mut themes: HashMap<String, ThemeRow> = HashMap::new();
    let mut count: u64 = 0;
    for row in rows {
        let row = row.borrow();
        if let Some(label) = &row.idea.theme {
            let theme = themes.entry(label.clone()).or_insert_with(|| ThemeRow {
                best_rank: row.rank,
                ..ThemeRow::default()
            });
            theme.ideas += 1;
            theme.shortlisted += u64::from(row.shortlist_position.is_some());
            theme.best_rank = theme.best_rank.min(row.rank);
            theme.up += row.up;
            theme.down += row.down;
        }
        let at = RowNum::try_from(count + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        write_all_ideas_row(&mut all, at, row, &formats)?;
        write_by_audience_row(&mut by_audience, at, row, header)?;
        if curated.contains_key(&row.idea.id) {
            curated_titles.insert(row.idea.id, row.idea.title.clone());
        }
        shortlist.offer(row);
        count += 1;
    }
    if count > 0 {
        let last = RowNum::try_from(count).map_err(|_| XlsxError::RowColumnLimitError)?;
        all.autofilter(0, 0, last, last_col(ALL_COLUMNS.len())?)?;
    }

    let shortlist = shortlist.into_sorted();
    let mut shortlist_sheet = Worksheet::new();
    shortlist_sheet.set_name("Shortlist")?;
    write_shortlist(&mut shortlist_sheet, header, &shortlist, &formats)?;

    let mut method_sheet = Worksheet::new();
    method_sheet.set_name("Method")?;
    write_method(
        &mut method_sheet,
        header,
        count,
        shortlist.len(),
        &curated_titles,
        &formats,
    )?;

    workbook.push_worksheet(shortlist_sheet);
    workbook.push_worksheet(all);
    workbook.push_worksheet(by_audience);
    workbook.push_worksheet(method_sheet);
    if !themes.is_empty() {
        let mut themes_sheet = Worksheet::new();
        themes_sheet.set_name("Themes")?;
        write_themes(&mut themes_sheet, themes, &formats)?;
        workbook.push_worksheet(themes_sheet);
    }
    if !header.mood_hourly.is_empty() {
        let mut mood_sheet = Worksheet::new();
        mood_sheet.set_name("Mood")?;
        write_mood(&mut mood_sheet, header, &formats)?;
        workbook.push_worksheet(mood_sheet);
    }
    workbook.save_to_writer(out)?;
    Ok(count)
}

/// One row per theme, best-ranked first (then by label).
fn write_themes(
    sheet: &mut Worksheet,
    themes: HashMap<String, ThemeRow>,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let names: Vec<String> = THEME_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
    write_header_row(sheet, &names, &formats.bold)?;
    let mut rows: Vec<(String, ThemeRow)> = themes.into_iter().collect();
    rows.sort_by(|a, b| a.1.best_rank.cmp(&b.1.best_rank).then_with(|| a.0.cmp(&b.0)));
    for (i, (label, theme)) in rows.iter().enumerate() {
        let at = RowNum::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.write_string(at, 0, cell_text(label))?;
        sheet.write_number(at, 1, theme.ideas as f64)?;
        sheet.write_number(at, 2, theme.shortlisted as f64)?;
        sheet.write_number(at, 3, theme.best_rank as f64)?;
        sheet.write_number(at, 4, theme.up as f64)?;
        sheet.write_number(at, 5, theme.down as f64)?;
    }
    sheet.set_column_width(0, 40)?;
    Ok(())
}

/// The hourly mood series: one row per hour, the counts per label and the negative share.
fn write_mood(sheet: &mut Worksheet, header: &ExportHeader, formats: &Formats) -> Result<(), XlsxError> {
    let names: Vec<String> = ["Hour (UTC)", "Negative", "Neutral", "Positive", "Negative share"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    write_header_row(sheet, &names, &formats.bold)?;
    let share = Format::new().set_num_format("0.0%");
    for (i, hour) in header.mood_hourly.iter().enumerate() {
        let at = RowNum::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.write_string(at, 0, hour.start.format("%Y-%m-%d %H:%M").to_string())?;
        sheet.write_number(at, 1, f64::from(hour.negative))?;
        sheet.write_number(at, 2, f64::from(hour.neutral))?;
        sheet.write_number(at, 3, f64::from(hour.positive))?;
        let total = hour.negative + hour.neutral + hour.positive;
        if total > 0 {
            sheet.write_number_with_format(at, 4, f64::from(hour.negative) / f64::from(total), &share)?;
        }
    }
    sheet.set_column_width(0, 18)?;
    Ok(())
}

fn last_col(columns: usize) -> Result<ColNum, XlsxError> {
    ColNum::try_from(columns.saturating_sub(1)).map_err(|_| XlsxError::RowColumnLimitError)
}

fn col(index: usize) -> Result<ColNum, XlsxError> {
    ColNum::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

/// Text as a cell holds it: exact, except that text past Excel's cell limit is cut (with `…`).
fn cell_text(text: &str) -> String {
    if text.encode_utf16().count() <= MAX_CELL_CHARS {
        return text.to_owned();
    }
    let mut units = 0;
    let mut cut = String::new();
    for c in text.chars() {
        units += c.len_utf16();
        if units > MAX_CELL_CHARS - 1 {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    cut
}

fn write_header_row(sheet: &mut Worksheet, names: &[String], bold: &Format) -> Result<(), XlsxError> {
    for (i, name) in names.iter().enumerate() {
        sheet.write_string_with_format(0, col(i)?, cell_text(name), bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn audience_columns(header: &ExportHeader) -> Vec<String> {
    header
        .audiences
        .iter()
        .flat_map(|name| [format!("up ({name})"), format!("down ({name})")])
        .collect()
}

fn prepare_all_ideas(sheet: &mut Worksheet, formats: &Formats) -> Result<(), XlsxError> {
    let names: Vec<String> = ALL_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    for (i, width) in [6, 8, 7, 8, 30, 38, 50, 38, 24, 20, 22, 10, 7, 7, 7, 9]
        .into_iter()
        .enumerate()
    {
        sheet.set_column_width(col(i)?, width)?;
    }
    write_header_row(sheet, &names, &formats.bold)
}

fn write_all_ideas_row(
    sheet: &mut Worksheet,
    at: RowNum,
    row: &RankedIdea,
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.write_number(at, 0, row.rank as f64)?;
    if let Some(position) = row.shortlist_position {
        sheet.write_number(at, 1, position as f64)?;
    }
    sheet.write_boolean(at, 2, row.pinned)?;
    sheet.write_boolean(at, 3, row.excluded_reason.is_some())?;
    if let Some(reason) = &row.excluded_reason {
        sheet.write_string(at, 4, cell_text(reason))?;
    }
    sheet.write_string(at, 5, row.idea.id.to_string())?;
    sheet.write_string(at, 6, cell_text(&row.idea.title))?;
    sheet.write_string(at, 7, row.idea.session_id.to_string())?;
    sheet.write_string(at, 8, cell_text(&row.idea.session_title))?;
    sheet.write_string(at, 9, cell_text(&row.idea.author))?;
    sheet.write_string(at, 10, format_time(row.idea.created_at))?;
    sheet.write_number_with_format(at, 11, row.score, &formats.score)?;
    sheet.write_number(at, 12, row.up as f64)?;
    sheet.write_number(at, 13, row.down as f64)?;
    sheet.write_number(at, 14, row.voters as f64)?;
    sheet.write_number(at, 15, row.comments as f64)?;
    if let Some(theme) = &row.idea.theme {
        sheet.write_string(at, 16, cell_text(theme))?;
    }
    Ok(())
}

fn prepare_by_audience(
    sheet: &mut Worksheet,
    header: &ExportHeader,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let mut names: Vec<String> = ["rank", "idea_id", "title", "up", "down"]
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    names.extend(audience_columns(header));
    sheet.set_column_width(1, 38)?;
    sheet.set_column_width(2, 50)?;
    write_header_row(sheet, &names, &formats.bold)
}

fn write_by_audience_row(
    sheet: &mut Worksheet,
    at: RowNum,
    row: &RankedIdea,
    header: &ExportHeader,
) -> Result<(), XlsxError> {
    sheet.write_number(at, 0, row.rank as f64)?;
    sheet.write_string(at, 1, row.idea.id.to_string())?;
    sheet.write_string(at, 2, cell_text(&row.idea.title))?;
    sheet.write_number(at, 3, row.up as f64)?;
    sheet.write_number(at, 4, row.down as f64)?;
    for (i, name) in header.audiences.iter().enumerate() {
        let counts = row.by_audience.get(name).copied().unwrap_or_default();
        sheet.write_number(at, col(5 + 2 * i)?, counts.up as f64)?;
        sheet.write_number(at, col(6 + 2 * i)?, counts.down as f64)?;
    }
    Ok(())
}

fn write_shortlist(
    sheet: &mut Worksheet,
    header: &ExportHeader,
    rows: &[RankedIdea],
    formats: &Formats,
) -> Result<(), XlsxError> {
    let mut names: Vec<String> = SHORTLIST_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    names.extend(audience_columns(header));
    for (i, width) in [8, 6, 7, 38, 50, 24, 20, 10, 7, 7, 7, 9].into_iter().enumerate() {
        sheet.set_column_width(col(i)?, width)?;
    }
    write_header_row(sheet, &names, &formats.bold)?;
    for (i, row) in rows.iter().enumerate() {
        let at = RowNum::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.write_number(at, 0, row.shortlist_position.unwrap_or(i + 1) as f64)?;
        sheet.write_number(at, 1, row.rank as f64)?;
        sheet.write_boolean(at, 2, row.pinned)?;
        sheet.write_string(at, 3, row.idea.id.to_string())?;
        sheet.write_string(at, SHORTLIST_TITLE_COL, cell_text(&row.idea.title))?;
        sheet.write_string(at, 5, cell_text(&row.idea.session_title))?;
        sheet.write_string(at, 6, cell_text(&row.idea.author))?;
        sheet.write_number_with_format(at, SHORTLIST_SCORE_COL, row.score, &formats.score)?;
        sheet.write_number(at, 8, row.up as f64)?;
        sheet.write_number(at, 9, row.down as f64)?;
        sheet.write_number(at, 10, row.voters as f64)?;
        sheet.write_number(at, 11, row.comments as f64)?;
        for (j, name) in header.audiences.iter().enumerate() {
            let counts = row.by_audience.get(name).copied().unwrap_or_default();
            sheet.write_number(at, col(12 + 2 * j)?, counts.up as f64)?;
            sheet.write_number(at, col(13 + 2 * j)?, counts.down as f64)?;
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let last = RowNum::try_from(rows.len()).map_err(|_| XlsxError::RowColumnLimitError)?;
    let mut chart = Chart::new(ChartType::Bar);
    chart
        .add_series()
        .set_name("score")
        .set_categories(("Shortlist", 1, SHORTLIST_TITLE_COL, last, SHORTLIST_TITLE_COL))
        .set_values(("Shortlist", 1, SHORTLIST_SCORE_COL, last, SHORTLIST_SCORE_COL));
    let title = format!("Shortlist by {} score", header.params.method);
    chart.title().set_name(&title);
    chart.legend().set_hidden();
    // A bar chart draws its first category at the bottom; reversed, position 1 is on top.
    chart.y_axis().set_reverse();
    chart.set_width(760);
    chart.set_height(u32::try_from(rows.len().min(200) * 26 + 120).unwrap_or(u32::MAX));
    sheet.insert_chart(last + 2, 0, &chart)?;
    Ok(())
}

fn write_method(
    sheet: &mut Worksheet,
    header: &ExportHeader,
    ideas: u64,
    shortlisted: usize,
    curated_titles: &HashMap<Uuid, String>,
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_column_width(0, 22)?;
    sheet.set_column_width(1, 40)?;
    sheet.set_column_width(2, 40)?;
    sheet.set_column_width(3, 40)?;
    let mut facts: Vec<(&str, String)> = vec![
        ("jam", header.jam_title.clone()),
        ("jam_id", header.jam_id.to_string()),
        ("state", header.state.as_str().to_owned()),
        ("method", header.params.method.to_string()),
        ("shortlist_size", header.params.shortlist_size.to_string()),
    ];
    if let Some(prior) = header.prior {
        facts.push(("prior_mean", prior.mean.to_string()));
        facts.push(("prior_weight", prior.weight.to_string()));
    }
    facts.extend([
        ("computed_at", format_time(header.computed_at)),
        ("digest", header.digest.to_string()),
        ("digest_format", crate::digest::DIGEST_VERSION.to_owned()),
        ("ideas_ranked", ideas.to_string()),
        ("shortlisted", shortlisted.to_string()),
    ]);
    let mut at: RowNum = 0;
    for (key, value) in facts {
        sheet.write_string_with_format(at, 0, key, &formats.bold)?;
        sheet.write_string(at, 1, cell_text(&value))?;
        at += 1;
    }

    at += 1;
    sheet.write_string_with_format(at, 0, "curation", &formats.bold)?;
    at += 1;
    for (i, name) in ["decision", "idea_id", "title", "reason", "by", "at"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(at, col(i)?, *name, &formats.bold)?;
    }
    at += 1;
    let title_of = |id: &Uuid| {
        curated_titles
            .get(id)
            .cloned()
            .unwrap_or_else(|| "(does not rank: hidden, removed, merged or unknown)".to_owned())
    };
    let mut excluded: Vec<_> = header.curation.excluded.iter().collect();
    excluded.sort();
    for exclusion in excluded {
        sheet.write_string(at, 0, "exclude")?;
        sheet.write_string(at, 1, exclusion.idea_id.to_string())?;
        sheet.write_string(at, 2, cell_text(&title_of(&exclusion.idea_id)))?;
        sheet.write_string(at, 3, cell_text(&exclusion.reason))?;
        sheet.write_string(at, 4, cell_text(&exclusion.by))?;
        sheet.write_string(at, 5, format_time(exclusion.at))?;
        at += 1;
    }
    let mut pinned = header.curation.pinned.clone();
    pinned.sort_unstable();
    pinned.dedup();
    for id in pinned {
        sheet.write_string(at, 0, "pin")?;
        sheet.write_string(at, 1, id.to_string())?;
        sheet.write_string(at, 2, cell_text(&title_of(&id)))?;
        at += 1;
    }

    at += 1;
    sheet.write_string_with_format(at, 0, "how it works", &formats.bold)?;
    for paragraph in method_explanation(header.params.method) {
        sheet.merge_range(at, 1, at, 3, paragraph, &formats.wrap)?;
        sheet.set_row_height(at, 90)?;
        at += 1;
    }

    if !header.fairness.is_empty() {
        at += 1;
        sheet.write_string_with_format(at, 0, "fairness", &formats.bold)?;
        sheet.merge_range(
            at,
            1,
            at,
            3,
            "Spearman's rho between each idea's rank under a method (1 = best) and its posting time: \
             near 0 when posting time does not matter, positive when earlier ideas rank better.",
            &formats.wrap,
        )?;
        sheet.set_row_height(at, 45)?;
        at += 1;
        for (i, name) in ["method", "rho(rank, post time)"].iter().enumerate() {
            sheet.write_string_with_format(at, col(i)?, *name, &formats.bold)?;
        }
        at += 1;
        for line in &header.fairness {
            sheet.write_string(at, 0, line.method.as_str())?;
            sheet.write_number(at, 1, line.rank_post_time)?;
            at += 1;
        }
    }
    Ok(())
}
