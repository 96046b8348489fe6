//! Writes the themes' planted corpus fixture, `tests/data/planted.tsv` (see
//! `tests/support/planted.rs` for how it is made).

#[path = "../tests/support/planted.rs"]
mod planted;

fn main() -> std::io::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/planted.tsv");
    std::fs::write(path, planted::fixture_tsv())?;
    println!("wrote {path}");
    Ok(())
}
