#!/usr/bin/env bash
# The vote benchmark through HTTP (`just bench-vote-http`): jam-loadgen's vote storm against ONE jamd
# node, with live connections subscribed to the session (they receive the `tally` frames), on each
# backend:
#   sqlite:    the embedded default (SQLite under $out, memory broker);
#   postgres:  PostgreSQL on this machine (a fresh database, dropped after) and the memory broker
#              (--pg-broker redis for Redis).
# Per backend: a short probe offers more votes than the node can take; what it acknowledged per
# second is the node's sustained rate. Then one run per row offers 1×, 2× and 4× that (--times), each
# run a fresh jam with its ideas, participants and connections. Each row reports:
#   offered/s; acknowledged/s (2xx), refused/s (503) and errors/s (any other failure), each over the
#   span from the first vote's intended send to the last answer; votes never sent (no free HTTP
#   client before the row ended: the node was behind);
#   jamd CPU µs per acknowledged vote (utime + stime of the jamd pid over the storm and its drain);
#   PostgreSQL CPU µs per acknowledged vote (every process named `postgres`, summed the same way);
#   answer p50 / p99 of acknowledged and of refused votes, from each vote's intended send time;
#   tally p99: from a vote's acknowledgement to the first `tally` frame, on each probe connection
#   (every 10th), showing a count that includes it (its idea's `up` at or past the count the answer
#   reported; each vote is a fresh +1, so counts only grow);
#   voters: the participants who voted: the listeners (--participants), and more when the row needs
#   more (voter, idea) pairs than they have (each pair votes once).
# Then the goals: ≥ 10,000 votes/s acknowledged per backend; ≤ 100 µs jamd CPU per vote on SQLite;
# ≤ 60 µs jamd + ≤ 80 µs PostgreSQL CPU per vote on PostgreSQL (CPU at the lowest offered rate).
# The load generator runs on the same machine: keep other work (builds) off it while measuring.
#
#   bash scripts/bench-vote-http.sh                  # full sizes (about 3 minutes per backend)
#   bash scripts/bench-vote-http.sh --small          # tiny sizes, about 30 s per backend once built
#   bash scripts/bench-vote-http.sh --jamd /tmp/jamd-old --no-postgres   # a baseline binary
#
# Options (full defaults in brackets):
#   --small             tiny sizes: 100 connections, 200 participants, 10 ideas, 2 s rows
#   --seconds S         seconds of votes per row [20]; each row then drains for --drain-secs [5]
#   --rates LIST        offered votes/s of the rows, comma-separated (skips the probe)
#   --times LIST        multiples of the probe's acknowledged rate [1,2,4]
#   --probe-rate R      votes/s the probe offers [40000], for --probe-secs S [5]
#   --conns N           live connections [1000]
#   --participants P    participants holding the connections, and the first voters [2000]
#   --ideas I           ideas voted on [50]
#   --http-clients C    keep-alive HTTP connections the votes go through [256]
#   --jamd PATH         the jamd binary [target/release/jamd, built here]
#   --pg-broker KIND    memory or redis, for the PostgreSQL node [memory]
#   --no-sqlite | --no-postgres   skip a backend
# Environment: JAM_BENCH_PG [postgres://postgres@127.0.0.1:5432], JAM_BENCH_REDIS
# [redis://127.0.0.1:6379], CARGO_TARGET_DIR [target]. Reports and logs go to a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

conns=1000 participants=2000 ideas=50 secs=20 drain=5 idle=1
probe_rate=40000 probe_secs=5 times=1,2,4 rates="" clients=256
jamd="" sqlite=1 postgres=1 pg_broker=memory
while (($#)); do
  case $1 in
    --small) conns=100 participants=200 ideas=10 secs=2 drain=1.5 idle=0.5
             probe_rate=10000 probe_secs=1 clients=32 ;;
    --seconds) secs=$2; shift ;;
    --drain-secs) drain=$2; shift ;;
    --rates) rates=$2; shift ;;
    --times) times=$2; shift ;;
    --probe-rate) probe_rate=$2; shift ;;
    --probe-secs) probe_secs=$2; shift ;;
    --conns) conns=$2; shift ;;
    --participants) participants=$2; shift ;;
    --ideas) ideas=$2; shift ;;
    --http-clients) clients=$2; shift ;;
    --jamd) jamd=$2; shift ;;
    --pg-broker) pg_broker=$2; shift ;;
    --no-sqlite) sqlite=0 ;;
    --no-postgres) postgres=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case $pg_broker in memory|redis) ;; *) echo "--pg-broker is memory or redis" >&2; exit 2 ;; esac

target=${CARGO_TARGET_DIR:-target}
if [[ -z $jamd ]]; then
  cargo build --release -p jam-server -p jam-loadgen
  jamd=$target/release/jamd
else
  # A baseline binary: only the load generator is built from this tree.
  cargo build --release -p jam-loadgen
fi
[[ -x $jamd ]] || { echo "no jamd at $jamd" >&2; exit 1; }
loadgen=$target/release/jam-loadgen

out=$(mktemp -d /tmp/bench-vote-http.XXXXXX)
echo "reports and logs: $out"
password="bench-$(date +%s%N)"
export JAM_LOADGEN_PASSWORD=$password
pg=${JAM_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
pg=${pg%/}
redis=${JAM_BENCH_REDIS:-redis://127.0.0.1:6379}
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

# Quiet logs, and rate limits out of the way: every client comes from a few loopback addresses, and
# each participant votes far more often than a person would. 60,000 per minute rather than more: the
# limiter's interval is whole milliseconds, and a larger count makes it 0 ms with no burst at all,
# where concurrent requests were refused with 429.
port=18180
origin="http://127.0.0.1:$port"
node_env=(
  JAM__LOG__FILTER=warn
  JAM__SERVER__BIND="127.0.0.1:$port"
  JAM__SERVER__PUBLIC_ORIGIN="$origin"
  JAM__LIVE__MAX_CONNECTIONS=$((conns + 100))
  JAM__RATE_LIMITS__LOGIN__COUNT=60000
  JAM__RATE_LIMITS__JOIN__COUNT=60000
  JAM__RATE_LIMITS__IDEAS__COUNT=60000
  JAM__RATE_LIMITS__VOTES__COUNT=60000
  JAM__SERVER__MAX_CONNECTIONS_PER_ADDRESS=0
  JAM__RATE_LIMITS__CONNECTIONS__COUNT=1000000
)
# Every participant joins from one of a few loopback addresses: lift the cap on joins per address,
# where the binary has it (one from before it would refuse the key as unknown).
if grep -aq joins_per_address_per_day "$jamd"; then
  node_env+=(JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY=1000000)
fi

wait_healthy() { # pid log
  for _ in $(seq 1 300); do
    if curl -fsS "$origin/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$1" 2>/dev/null; then echo "jamd did not start; see $2:" >&2; tail -n 20 "$2" >&2; exit 1; fi
    sleep 0.2
  done
  echo "jamd on port $port not healthy after 60 s" >&2
  exit 1
}

# One storm against the running node: run_storm NAME RATE SECS [loadgen options…]; the report goes
# to $out/NAME.json, its summary to $out/NAME.md.
run_storm() {
  local name=$1 rate=$2 seconds=$3
  shift 3
  "$loadgen" run --label "$name" --nodes "127.0.0.1:$port" --origin "$origin" \
    --vote-ideas "$ideas" --connections "$conns" --participants "$participants" \
    --idle-secs "$idle" --vote-rate "$rate" --phase-secs "$seconds" --drain-secs "$drain" \
    --drive --http-clients "$clients" --server-pid "$node_pid" --max-secs 1800 --quiet \
    --json "$out/$name.json" "$@" >"$out/$name.md" 2>"$out/$name.log" || {
    echo "the load generator failed on $name; see $out/$name.log:" >&2
    tail -n 5 "$out/$name.log" >&2
    exit 1
  }
}

# Every row of one backend against its running node; prints the reports' paths, comma-separated.
run_rows() { # backend [loadgen options…]
  local backend=$1
  shift
  local row_rates=$rates
  if [[ -z $row_rates ]]; then
    run_storm "$backend-probe" "$probe_rate" "$probe_secs" "$@"
    local sustained
    sustained=$("$loadgen" vote-rates --probe "$out/$backend-probe.json" --times 1)
    row_rates=$("$loadgen" vote-rates --probe "$out/$backend-probe.json" --times "$times")
    echo "== $backend: the probe offered $probe_rate/s for $probe_secs s and got $sustained/s acknowledged; rows at $row_rates/s" >&2
  fi
  local reports=() rate
  IFS=, read -ra row_list <<<"$row_rates"
  for rate in "${row_list[@]}"; do
    echo "== $backend: $rate votes/s offered for $secs s" >&2
    run_storm "$backend-$rate" "$rate" "$secs" "$@"
    reports+=("$out/$backend-$rate.json")
  done
  (IFS=,; echo "${reports[*]}")
}

stop_node() {
  kill -TERM "$node_pid"
  wait "$node_pid" || true
  node_pid=""
}

table_args=()
if ((sqlite)); then
  mkdir -p "$out/sqlite"
  db="sqlite://$out/sqlite/jam.db"
  env "${node_env[@]}" JAM__DATABASE__URL="$db" JAM_ADMIN_PASSWORD="$password" \
    "$jamd" admin create --email admin@example.org --role admin >"$out/sqlite/admin.log" 2>&1
  env "${node_env[@]}" JAM__DATABASE__URL="$db" "$jamd" serve >"$out/sqlite/jamd.log" 2>&1 &
  node_pid=$!
  wait_healthy "$node_pid" "$out/sqlite/jamd.log"
  echo "== sqlite: jamd pid $node_pid" >&2
  reports=$(run_rows sqlite)
  table_args+=(--sqlite "$reports")
  stop_node
fi

if ((postgres)); then
  pg_isready -d "$pg/postgres" >/dev/null || { echo "PostgreSQL does not answer at $pg" >&2; exit 1; }
  bench_db="bench_vote_http_$(date +%s)"
  psql "$pg/postgres" -qc "CREATE DATABASE \"$bench_db\""
  mkdir -p "$out/postgres"
  pg_env=("${node_env[@]}" JAM__DATABASE__URL="$pg/$bench_db" JAM__BROKER__KIND="$pg_broker")
  if [[ $pg_broker == redis ]]; then
    redis-cli -u "$redis" ping >/dev/null || { echo "Redis does not answer at $redis" >&2; exit 1; }
    pg_env+=(JAM__BROKER__REDIS_URL="$redis")
  fi
  env "${pg_env[@]}" "$jamd" migrate >"$out/postgres/migrate.log" 2>&1
  env "${pg_env[@]}" JAM_ADMIN_PASSWORD="$password" \
    "$jamd" admin create --email admin@example.org --role admin >"$out/postgres/admin.log" 2>&1
  env "${pg_env[@]}" "$jamd" serve >"$out/postgres/jamd.log" 2>&1 &
  node_pid=$!
  wait_healthy "$node_pid" "$out/postgres/jamd.log"
  echo "== postgres ($pg_broker broker): jamd pid $node_pid" >&2
  reports=$(run_rows postgres --cpu-of postgres)
  table_args+=(--postgres "$reports")
  stop_node
fi

echo
echo "## Votes through HTTP, one node ($(nproc) cores, 1-minute load $(cut -d' ' -f1 /proc/loadavg) at the end)"
echo
echo "jamd: $jamd ($(date -r "$jamd" '+%F %T')); $conns live connections, $participants participants, $ideas ideas," \
  "$secs s per row then $drain s of drain, $clients HTTP clients; PostgreSQL with the $pg_broker broker."
echo
"$loadgen" vote-table "${table_args[@]}" | tee "$out/table.md"
