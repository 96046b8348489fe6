#!/usr/bin/env bash
# The jam's pulse benchmark (`just bench-pulse`, issue 16): one section per feature, each its own
# example binary built in release mode, each printing its own markdown table with its goals.
#   search:  100,000 ideas (English and French) on SQLite and on PostgreSQL (a fresh database,
#            dropped after): search p50/p99 over a mix of queries (goal p99 ≤ 50 ms per backend),
#            jam-store's `bench_search` example.
#   similar: similar-ideas p50/p99 on the same seeded databases (goal p99 ≤ 50 ms), run by the same
#            example (`--sections similar`).
#   themes:  100,000 ideas clustered in process, time and peak RSS (goal <= 60 s, <= 500 MiB),
#            jam-pulse's `bench_themes` example.
#   mood:    scoring per post (p50/p99, goal p99 ≤ 1 ms), jam-pulse's `bench_mood` example.
# Sections are appended here by the features that own them (themes: see below).
#
#   bash scripts/bench-pulse.sh                       # every section, full sizes
#   bash scripts/bench-pulse.sh --small               # CI-size smoke run (seconds per section)
#   bash scripts/bench-pulse.sh --only search,similar # some sections
#
# Options:
#   --small          tiny sizes in every section
#   --only LIST      sections to run, comma-separated [every section]
#   --no-postgres    SQLite only (sections that have a PostgreSQL part)
# Environment: JAM_TEST_DATABASE_URL [postgres://postgres@127.0.0.1:5432/test] names the server
# where fresh databases are created and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."

small="" only="" no_pg=""
while (($#)); do
  case $1 in
    --small) small=--small ;;
    --only) only=$2; shift ;;
    --no-postgres) no_pg=--no-postgres ;;
    *) echo "unknown option: $1 (see the top of $0)" >&2; exit 2 ;;
  esac
  shift
done
export JAM_TEST_DATABASE_URL="${JAM_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

# True when section $1 is to run.
wanted() { [[ -z $only || ",$only," == *",$1,"* ]]; }

# ---- search and similar (jam-store/examples/bench_search.rs) ----
search_sections=()
wanted search && search_sections+=(search)
wanted similar && search_sections+=(similar)
if ((${#search_sections[@]})); then
  sections=$(IFS=,; echo "${search_sections[*]}")
  cargo run --release -q -p jam-store --example bench_search -- --sections "$sections" $small $no_pg
fi

# ---- further sections below (themes, ...) ----

# ---- themes (jam-pulse/examples/bench_themes.rs) ----
# 100,000 planted ideas (8 topics x English and French, with noise) clustered in process, from
# nothing and continuing the first run's themes (what the themes job does): wall time, peak RSS
# (VmHWM, the whole process) and the adjusted Rand index. Goal: <= 60 s and <= 500 MiB per run.
if wanted themes; then
  cargo run --release -q -p jam-pulse --example bench_themes -- $small
fi

# ---- mood (jam-pulse/examples/bench_mood.rs) ----
# Scoring per post as the server does it at write time (language detected, then the analyser), over
# the evaluation sets' texts (the French reviews when scripts/fetch-pulse-eval.sh fetched them).
# Goal: p99 ≤ 1 ms per post.
if wanted mood; then
  bash scripts/fetch-pulse-eval.sh || echo "mood: French set unavailable, English texts only" >&2
  cargo run --release -q -p jam-pulse --example bench_mood -- $small
fi
