# OpenJam recipes. Install just with `cargo install just` (or your package manager).

# Serve the embedded default: SQLite under data/, in-process broker, http://127.0.0.1:8080
run:
    cargo run --release

# Every test on the embedded backends (PostgreSQL/Redis suites run when their variables are set).
test:
    cargo test --workspace

# Every test, with PostgreSQL and Redis mandatory (what CI runs).
test-all:
    JAM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test JAM_TEST_REDIS_URL=redis://127.0.0.1:6379 JAM_TEST_REQUIRE_SERVICES=1 cargo test --workspace

# What CI runs: services, fmt, clippy, tests.
ci:
    bash .ci/run

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Apply migrations to the configured database.
migrate:
    cargo run --release -- migrate

# Create a staff account: just admin you@example.org admin
admin email role="admin":
    cargo run --release -- admin create --email {{email}} --role {{role}}
