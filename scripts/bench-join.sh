#!/usr/bin/env bash
# The join benchmark (`just bench-join`): a crowd of new browsers arriving at once at ONE jamd node,
# on each backend:
#   sqlite:    the embedded default (SQLite under $out, memory broker);
#   postgres:  PostgreSQL on this machine (a fresh database, dropped after), memory broker.
# `jam-loadgen join-bench` creates a jam with a `code` audience and an `invite` audience, then:
#   code join:          N joins with the shared code, each without a cookie (a new participant);
#   invite redemption:  N personal invites issued (5,000 per request), then each redeemed once.
# Each phase runs C closed-loop clients over keep-alive connections from 127.0.0.2… (100 source
# addresses). Reported per phase: joins admitted, wall seconds, joins/s, latency p50/p99/max of the
# admitted joins (send to answer), and the goal: every join admitted in ≤ 60 s with p99 ≤ 500 ms.
# The per-address cap on new participants stays on (every join counts against it) but is lifted to
# 1,000,000 a day, and the per-address join rate limit to 60,000 a minute: the whole crowd comes
# from a handful of loopback addresses here, where real people come from thousands.
# The load generator runs on the same machine: keep builds off it while measuring.
#
#   bash scripts/bench-join.sh               # 20,000 joins and 20,000 invites per backend, 100 clients
#   bash scripts/bench-join.sh --small       # 500 of each, 20 clients (what CI can afford)
#
# Options: --joins N [20000]  --invites N [20000]  --clients C [100]  --jamd PATH [built here]
#          --no-sqlite | --no-postgres
# Environment: JAM_BENCH_PG [postgres://postgres@127.0.0.1:5432], CARGO_TARGET_DIR [target].
set -euo pipefail
cd "$(dirname "$0")/.."

joins=20000 invites=20000 clients=100 jamd="" sqlite=1 postgres=1
while (($#)); do
  case $1 in
    --small) joins=500 invites=500 clients=20 ;;
    --joins) joins=$2; shift ;;
    --invites) invites=$2; shift ;;
    --clients) clients=$2; shift ;;
    --jamd) jamd=$2; shift ;;
    --no-sqlite) sqlite=0 ;;
    --no-postgres) postgres=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
build_bench "$jamd"

out=$(mktemp -d /tmp/bench-join.XXXXXX)
echo "reports and logs: $out" >&2
password="bench-$(date +%s%N)"
export JAM_LOADGEN_PASSWORD=$password
pg=${JAM_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
pg=${pg%/}
node_pid=""
bench_db=""
cleanup() {
  if [[ -n $node_pid ]]; then kill -TERM "$node_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [[ -n $bench_db ]]; then psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS \"$bench_db\"" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

busy=$(pgrep -c -x rustc || true)
if ((busy > 0)); then echo "warning: $busy rustc processes are running: the figures will be disturbed" >&2; fi

port=18190
origin="http://127.0.0.1:$port"
node_env=(
  JAM__LOG__FILTER=warn
  JAM__SERVER__BIND="127.0.0.1:$port"
  JAM__SERVER__PUBLIC_ORIGIN="$origin"
  JAM__RATE_LIMITS__LOGIN__COUNT=60000
  JAM__RATE_LIMITS__JOIN__COUNT=60000
  JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY=1000000
  JAM__SERVER__MAX_CONNECTIONS_PER_ADDRESS=0
  JAM__RATE_LIMITS__CONNECTIONS__COUNT=1000000
)

# One backend: bench BACKEND DATABASE_URL; its rows go to $out/BACKEND.json.
bench() {
  local backend=$1 db=$2
  mkdir -p "$out/$backend"
  env "${node_env[@]}" JAM__DATABASE__URL="$db" JAM_ADMIN_PASSWORD="$password" \
    "$jamd" admin create --email admin@example.org --role admin >"$out/$backend/admin.log" 2>&1
  env "${node_env[@]}" JAM__DATABASE__URL="$db" "$jamd" serve >"$out/$backend/jamd.log" 2>&1 &
  node_pid=$!
  wait_healthy "$origin" "$node_pid" "$out/$backend/jamd.log"
  echo "== $backend: $joins code joins, then $invites invites, $clients clients" >&2
  "$loadgen" join-bench --nodes "127.0.0.1:$port" --origin "$origin" --backend "$backend" \
    --joins "$joins" --invites "$invites" --clients "$clients" --json "$out/$backend.json" >&2
  kill -TERM "$node_pid"
  wait "$node_pid" || true
  node_pid=""
  reports+=("$out/$backend.json")
}

reports=()
if ((sqlite)); then
  bench sqlite "sqlite://$out/sqlite/jam.db"
fi
if ((postgres)); then
  pg_isready -d "$pg/postgres" >/dev/null || { echo "PostgreSQL does not answer at $pg" >&2; exit 1; }
  bench_db="openjam_bench_join_$$"
  psql "$pg/postgres" -qc "CREATE DATABASE \"$bench_db\"" >/dev/null
  bench postgres "$pg/$bench_db"
fi

echo
echo "Join benchmark: $joins code joins and $invites invite redemptions per backend, $clients clients, one node, $(nproc) cores"
echo
"$loadgen" join-table --reports "$(IFS=,; echo "${reports[*]}")"
