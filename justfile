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

# Vote writer (group commit) vs one transaction per vote, at 1/10/100/1000 concurrent voters, on SQLite
# and PostgreSQL (JAM_TEST_DATABASE_URL, defaulting to the local server; a fresh database is created
# and dropped). Arguments go to the benchmark, e.g. `just bench-votes --seconds 2 --concurrency 10,1000`
# or `just bench-votes --no-sqlite --postgres postgres://…/db`. Prints a markdown table for the README.
bench-votes *args:
    JAM_TEST_DATABASE_URL="${JAM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" cargo run --release -p jam-store --example bench_votes -- {{args}}

# Joins (issue 14): 20,000 fresh browsers joining one node with the shared code, then 20,000 personal
# invites issued and redeemed, by 100 compiled closed-loop clients (jam-loadgen join-bench), on SQLite
# and PostgreSQL (a fresh database, dropped after). Goal per phase: all admitted in ≤ 60 s, p99 ≤
# 500 ms. Arguments go to the script, e.g. `just bench-join --small` or `just bench-join --no-postgres`.
bench-join *args:
    bash scripts/bench-join.sh {{args}}

# Slowloris and a login flood against one node while a participant votes (scripts/bench-siege.sh).
bench-siege *args:
    bash scripts/bench-siege.sh {{args}}

# N jamd nodes (default 3) on ports 8081… against PostgreSQL (database openjam_cluster, created if
# missing) and Redis; prints their URLs and stops them on Ctrl-C. Settings: see scripts/cluster.sh.
cluster n="3":
    bash scripts/cluster.sh {{n}}

# Tally: time and peak memory of the shortlist (load + compute) and of streaming each export (CSV,
# XLSX, JSON) for 1,000, 10,000 and 100,000 ideas with 50 votes each on average, on SQLite and
# PostgreSQL (JAM_TEST_DATABASE_URL, defaulting to the local server; a fresh database per size is
# created and dropped). Seeding 5 M votes takes a few minutes. Arguments go to the benchmark, e.g.
# `just bench-tally --sizes 1000,10000 --skip-postgres`. Prints a markdown table for the README.
bench-tally *args:
    JAM_TEST_DATABASE_URL="${JAM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" cargo run --release -p jam-tally --example bench_tally -- {{args}}

# Fairness (issue 17): a simulated 72-hour jam (10,000 voters, 2,000 ideas of hidden quality) under the
# hot/top feed + Wilson tally, discover + exposure, and a pairwise Bradley–Terry final round: Spearman's
# ρ of rank with post time and with quality, top-10 precision; and a timed Bradley–Terry fit (50 ideas,
# 100,000 comparisons). Deterministic (`--seed N`); exits non-zero if a goal is missed. Markdown tables.
bench-fairness *args:
    cargo run --release -p jam-tally --example bench_fairness -- {{args}}

# Impressions: sustained impressions/s through the impression writer (group commit) with 200 reporting
# browsers of 20 ideas each, on SQLite and PostgreSQL (JAM_TEST_DATABASE_URL, defaulting to the local
# server; a fresh database is created and dropped), and every impression accounted for (the writer's
# counters, the answers, the rows and the ideas' counters agree). Markdown table.
bench-impressions *args:
    JAM_TEST_DATABASE_URL="${JAM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" cargo run --release -p jam-store --example bench_impressions -- {{args}}

# Live hub: idle memory per connection, broadcasts to 19,000 subscribers at 1/10/50 events/s, abusive
# clients, and a 6-node cluster on PostgreSQL + Redis with a vote storm (jam-loadgen). `--small` runs
# tiny sizes in under 2 minutes; options at the top of scripts/bench-hub.sh. Prints a markdown table.
bench-hub *args:
    bash scripts/bench-hub.sh {{args}}

# Votes through HTTP against one jamd node (1,000 live connections, 2,000 participants, 50 ideas) at
# 1×, 2× and 4× the rate it sustains, on SQLite and on PostgreSQL (a fresh database, dropped after):
# acknowledged/refused/s, jamd and PostgreSQL CPU per vote, answer and tally latency, and the goals.
# `--small` runs tiny sizes (about 30 s per backend once built); `--jamd PATH` measures another
# binary; options at the top of scripts/bench-vote-http.sh. Prints a markdown table.
bench-vote-http *args:
    bash scripts/bench-vote-http.sh {{args}}

# The jam's pulse: search and similar-ideas latency at 100,000 ideas on SQLite and PostgreSQL (a
# fresh database, dropped after), and the other pulse sections; `--small` for a CI-size smoke run,
# `--only search,similar` for some sections; options at the top of scripts/bench-pulse.sh.
bench-pulse *args:
    bash scripts/bench-pulse.sh {{args}}

# The API against its OpenAPI document: schemathesis 4.x (pip install 'schemathesis>=4,<5'), every
# check and phase, as a facilitator and as a participant, on a jamd with a seeded jam
# (scripts/schemathesis.sh). Not yet in CI: it still reports failures (README.md says which).
schemathesis *args:
    cargo build -p jam-server
    bash scripts/schemathesis.sh {{args}}
