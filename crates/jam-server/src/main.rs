//! `jamd`: see `jam_server::cli`.

fn main() -> anyhow::Result<()> {
    jam_server::cli::main()
}
