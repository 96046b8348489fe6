//! `results.json`: one object, written field by field and item by item (never built as one value):
//!
//! ```text
//! {"jam_id", "jam_title", "state", "method", "params": {method, shortlist_size}, "prior": {mean, weight} | null,
//!  "computed_at", "digest", "audiences": [NAME…], "curation": {excluded: [{idea_id, reason, by, at}], pinned: [id…]},
//!  "method_explained": [paragraph…],
//!  "items": [RankedIdea…],         every visible idea in rank order, one per line
//!  "shortlist": [ShortlistItem…]}  the curated shortlist, as in the API's Shortlist object
//! ```
//!
//! Text is exact (no formula guard) and scores are exact `f64`s.

use std::borrow::Borrow;
use std::io::{BufWriter, Write};

use serde::Serialize;

use crate::compute::{RankedIdea, ShortlistItem};
use crate::error::TallyError;
use crate::export::{ExportHeader, ShortlistCollector, method_explanation};

/// Writes `results.json` to `out` (buffered here); returns the number of items.
pub fn write_json<W, R>(
    out: W,
    header: &ExportHeader,
    rows: impl IntoIterator<Item = R>,
) -> Result<u64, TallyError>
where
    W: Write,
    R: Borrow<RankedIdea>,
{
    let mut out = BufWriter::new(out);
    out.write_all(b"{")?;
    field(&mut out, "jam_id", &header.jam_id, true)?;
    field(&mut out, "jam_title", &header.jam_title, false)?;
    field(&mut out, "state", &header.state, false)?;
    field(&mut out, "method", &header.params.method, false)?;
    field(&mut out, "params", &header.params, false)?;
    field(&mut out, "prior", &header.prior, false)?;
    field(&mut out, "computed_at", &header.computed_at, false)?;
    field(&mut out, "digest", &header.digest, false)?;
    field(&mut out, "audiences", &header.audiences, false)?;
    field(&mut out, "curation", &header.curation, false)?;
    field(
        &mut out,
        "method_explained",
        &method_explanation(header.params.method),
        false,
    )?;

    out.write_all(b",\n\"items\":[")?;
    let mut shortlist = ShortlistCollector::default();
    let mut count = 0u64;
    for row in rows {
        let row = row.borrow();
        out.write_all(if count == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut out, row)?;
        shortlist.offer(row);
        count += 1;
    }
    out.write_all(b"\n],\n\"shortlist\":[")?;
    for (i, row) in shortlist.into_sorted().iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut out, &ShortlistItem::from(row))?;
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    Ok(count)
}

fn field<W: Write, T: Serialize + ?Sized>(
    out: &mut W,
    key: &str,
    value: &T,
    first: bool,
) -> Result<(), TallyError> {
    if !first {
        out.write_all(b",\n")?;
    }
    serde_json::to_writer(&mut *out, key)?;
    out.write_all(b":")?;
    serde_json::to_writer(&mut *out, value)?;
    Ok(())
}
