#!/usr/bin/env bash
# The live hub benchmark (`just bench-hub`): release jamd + jam-loadgen on this machine, then
#   (a) idle:      N connections on one node: server RSS per connection idle and after traffic, idle CPU;
#   (b) broadcast: those N subscribers of one session topic at each event rate: deliveries/s, latency
#                  from the intended send time, gaps;
#   (d) abuse:     the same broadcast without, then with, abusive clients (malformed JSON, unknown types,
#                  10 MB frames, 10,000 subscriptions, a client that never reads);
#   (c) cluster:   K nodes × M connections on PostgreSQL + Redis with a vote storm: tally delivery
#                  latency and Redis CPU.
# (a), (b) and (d) run on one node with embedded SQLite and the memory broker, as one loadgen run
# (its live.max_connections is raised by 100 over --conns, so the abusers are not refused with 1013).
# It prints one markdown table with every goal and whether it was met; reports go to $out.
#
#   bash scripts/bench-hub.sh            # the full sizes (15–20 minutes on 2 cores)
#   bash scripts/bench-hub.sh --small    # tiny sizes, under 2 minutes
#
# Options (full defaults in brackets):
#   --conns N           single-node connections [19000]
#   --rates LIST        broadcast events/s, comma-separated [1,10,50]
#   --phase-secs S      seconds of load per phase [20]; each phase then drains for --drain-secs [5]
#   --idle-secs S       seconds of the idle phase [10]
#   --abuse-rate R      events/s of the abuse pair of phases, 0 to skip [20]
#   --abuse-secs S      seconds of load of each abuse phase [55]: longer than live.client_timeout_secs
#                       (45), so the client that never reads is either resynced/closed 4008 when its
#                       socket buffers and queue (512 frames) fill, or closed as silent
#   --nodes K           cluster nodes [6]
#   --node-conns M      connections per cluster node (one loadgen process each) [15000]
#   --vote-rate V       votes/s of the storm [5000]
#   --vote-ideas I      ideas the storm votes on [50]
#   --vote-clients C    HTTP connections the vote driver spreads over the nodes [256]
#   --no-single | --no-cluster   skip a part
# Environment: JAM_BENCH_PG [postgres://postgres@127.0.0.1:5432], JAM_BENCH_REDIS [redis://127.0.0.1:6379],
# CARGO_TARGET_DIR [target]. The cluster run uses a fresh database (dropped after) and Redis as is
# (topics are per new jam, so other data there is left alone).
set -euo pipefail
cd "$(dirname "$0")/.."

conns=19000 rates=1,10,50 phase=20 drain=5 idle=10 abuse_rate=20 abuse_secs=55
nodes=6 node_conns=15000 vote_rate=5000 vote_ideas=50 vote_clients=256
single=1 cluster=1
while (($#)); do
  case $1 in
    --small) conns=1000 rates=1,10,50 phase=5 drain=2 idle=2 abuse_rate=20 abuse_secs=5
             nodes=2 node_conns=500 vote_rate=500 vote_ideas=20 vote_clients=16 ;;
    --conns) conns=$2; shift ;;
    --rates) rates=$2; shift ;;
    --phase-secs) phase=$2; shift ;;
    --drain-secs) drain=$2; shift ;;
    --idle-secs) idle=$2; shift ;;
    --abuse-rate) abuse_rate=$2; shift ;;
    --abuse-secs) abuse_secs=$2; shift ;;
    --nodes) nodes=$2; shift ;;
    --node-conns) node_conns=$2; shift ;;
    --vote-rate) vote_rate=$2; shift ;;
    --vote-ideas) vote_ideas=$2; shift ;;
    --vote-clients) vote_clients=$2; shift ;;
    --no-single) single=0 ;;
    --no-cluster) cluster=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

target=${CARGO_TARGET_DIR:-target}
cargo build --release -p jam-server --bin jamd -p jam-loadgen --bin jam-loadgen
jamd=$target/release/jamd
loadgen=$target/release/jam-loadgen

out=$(mktemp -d /tmp/bench-hub.XXXXXX)
echo "reports and logs: $out"
password="bench-$(date +%s%N)"
export JAM_LOADGEN_PASSWORD=$password
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n ${bench_db:-} ]]; then psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS \"$bench_db\"" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# Settings every benchmark node gets: quiet logs, and rate limits out of the way (all clients come
# from a few loopback addresses, and the drivers post far more than a person would).
node_env=(
  JAM__LOG__FILTER=warn
  JAM__RATE_LIMITS__LOGIN__COUNT=1000000
  JAM__RATE_LIMITS__JOIN__COUNT=1000000
  JAM__RATE_LIMITS__IDEAS__COUNT=1000000
  JAM__RATE_LIMITS__VOTES__COUNT=1000000
  JAM__RATE_LIMITS__WELCOME__COUNT=1000000
  JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY=1000000
  JAM__SERVER__MAX_CONNECTIONS_PER_ADDRESS=0
  JAM__RATE_LIMITS__CONNECTIONS__COUNT=1000000
)

wait_healthy() { # port pid log
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "jamd did not start; see $3:" >&2; tail -n 20 "$3" >&2; exit 1; fi
    sleep 0.2
  done
  echo "jamd on port $1 not healthy after 60 s" >&2
  exit 1
}

table_args=()
if ((single)); then
  port=18080
  mkdir -p "$out/single"
  env "${node_env[@]}" JAM__DATABASE__URL="sqlite://$out/single/jam.db" JAM_ADMIN_PASSWORD="$password" \
    "$jamd" admin create --email admin@example.org --role admin >"$out/single/admin.log" 2>&1
  env "${node_env[@]}" JAM__DATABASE__URL="sqlite://$out/single/jam.db" \
    JAM__SERVER__BIND="127.0.0.1:$port" JAM__SERVER__PUBLIC_ORIGIN="http://127.0.0.1:$port" \
    JAM__LIVE__MAX_CONNECTIONS=$((conns + 100)) \
    "$jamd" serve >"$out/single/jamd.log" 2>&1 &
  single_pid=$!
  pids+=("$single_pid")
  wait_healthy "$port" "$single_pid" "$out/single/jamd.log"
  echo "== single node (pid $single_pid): $conns connections, broadcasts at $rates/s, abuse at $abuse_rate/s"
  "$loadgen" run --label single --nodes "127.0.0.1:$port" --origin "http://127.0.0.1:$port" \
    --connections "$conns" --participants 100 --idle-secs "$idle" --event-rates "$rates" \
    --phase-secs "$phase" --drain-secs "$drain" --abuse-rate "$abuse_rate" --abuse-secs "$abuse_secs" --drive \
    --server-pid "$single_pid" --max-secs 1800 --json "$out/single.json" | tee "$out/single.md"
  kill -TERM "$single_pid"
  wait "$single_pid" || true
  table_args+=(--single "$out/single.json" --single-pid "$single_pid")
fi

if ((cluster)); then
  pg=${JAM_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  pg=${pg%/}
  redis=${JAM_BENCH_REDIS:-redis://127.0.0.1:6379}
  pg_isready -d "$pg/postgres" >/dev/null || { echo "PostgreSQL does not answer at $pg" >&2; exit 1; }
  redis-cli -u "$redis" ping >/dev/null || { echo "Redis does not answer at $redis" >&2; exit 1; }
  bench_db="bench_hub_$(date +%s)"
  psql "$pg/postgres" -qc "CREATE DATABASE \"$bench_db\""
  mkdir -p "$out/cluster"
  cluster_env=("${node_env[@]}" JAM__DATABASE__URL="$pg/$bench_db" JAM__BROKER__KIND=redis
               JAM__BROKER__REDIS_URL="$redis" JAM__SERVER__PUBLIC_ORIGIN="http://127.0.0.1:18081")
  env "${cluster_env[@]}" "$jamd" migrate >"$out/cluster/migrate.log" 2>&1
  env "${cluster_env[@]}" JAM_ADMIN_PASSWORD="$password" \
    "$jamd" admin create --email admin@example.org --role admin >"$out/cluster/admin.log" 2>&1
  node_pids=()
  for i in $(seq 1 "$nodes"); do
    port=$((18080 + i))
    # Every node accepts the same origin, as behind one load balancer.
    # A pool of 12 per node; one vote batch at a time per node, as scripts/cluster.sh sets.
    env "${cluster_env[@]}" JAM__SERVER__BIND="127.0.0.1:$port" JAM__DATABASE__MAX_CONNECTIONS=12 \
      JAM__VOTES__POSTGRES_WRITERS="${JAM__VOTES__POSTGRES_WRITERS:-1}" \
      "$jamd" serve >"$out/cluster/node-$i.log" 2>&1 &
    node_pids+=($!)
    pids+=($!)
  done
  for i in $(seq 1 "$nodes"); do wait_healthy $((18080 + i)) "${node_pids[$((i - 1))]}" "$out/cluster/node-$i.log"; done
  "$loadgen" setup --nodes 127.0.0.1:18081 --origin http://127.0.0.1:18081 --vote-ideas "$vote_ideas" \
    >"$out/cluster/fixture.json"
  # Every process starts its phases at the same moment: once all have ramped (each prints "ramp
  # done"), the start goes into this file, which they wait for.
  start_file="$out/cluster/start"
  cluster_idle=5
  echo "== cluster: $nodes nodes × $node_conns connections, $vote_rate votes/s"
  lg_pids=()
  cluster_json=()
  all_nodes=$(seq -s, -f '127.0.0.1:%g' 18081 $((18080 + nodes)))
  for i in $(seq 1 "$nodes"); do
    drive=()
    # One process drives, spreading its votes over every node (as behind a load balancer).
    ((i == 1)) && drive=(--drive --drive-nodes "$all_nodes")
    "$loadgen" run --label "cluster-$i" --nodes "127.0.0.1:$((18080 + i))" --origin http://127.0.0.1:18081 \
      --fixture "$out/cluster/fixture.json" --connections "$node_conns" --participants 50 \
      --source-first $((2 + (i - 1) * 40)) --source-count 40 --connect-concurrency 16 \
      --start-file "$start_file" --idle-secs "$cluster_idle" --vote-rate "$vote_rate" \
      --phase-secs "$phase" --drain-secs "$drain" "${drive[@]}" --http-clients "$vote_clients" \
      --server-pid "${node_pids[$((i - 1))]}" --max-secs 1800 --quiet \
      --json "$out/cluster-$i.json" >"$out/cluster-$i.md" 2>"$out/cluster-$i.log" &
    lg_pids+=($!)
    cluster_json+=("$out/cluster-$i.json")
  done
  for i in $(seq 1 "$nodes"); do
    until grep -q "ramp done" "$out/cluster-$i.log" 2>/dev/null; do
      if ! kill -0 "${lg_pids[$((i - 1))]}" 2>/dev/null; then
        echo "cluster loadgen $i ended before its ramp did:" >&2; tail -n 5 "$out/cluster-$i.log" >&2; exit 1
      fi
      sleep 1
    done
  done
  start_ms=$(($(date +%s%3N) + 3000))
  echo "$start_ms" >"$start_file.tmp" && mv "$start_file.tmp" "$start_file"
  grep -h "ramp done" "$out"/cluster-*.log
  # Redis CPU over the storm: INFO cpu when it starts and when its drain ends.
  redis_cpu() { redis-cli -u "$redis" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'; }
  storm_ms=$((start_ms + cluster_idle * 1000))
  sleep_until_ms() { local d=$(($1 - $(date +%s%3N))); ((d > 0)) && sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')"; return 0; }
  sleep_until_ms "$storm_ms"
  cpu0=$(redis_cpu)
  sleep_until_ms $((storm_ms + (phase + drain) * 1000))
  cpu1=$(redis_cpu)
  failed=0
  for pid in "${lg_pids[@]}"; do wait "$pid" || failed=1; done
  if ((failed)); then
    echo "a cluster loadgen failed; see $out/cluster-*.log" >&2
    tail -n 5 "$out"/cluster-*.log >&2
  fi
  cat "$out"/cluster-*.md
  redis_secs=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.3f", b - a }')
  joined=$(IFS=,; echo "${cluster_json[*]}")
  table_args+=(--cluster "$joined" --redis-cpu-secs "$redis_secs" --redis-span-secs $((phase + drain)))
fi

echo
echo "## Live hub benchmark ($(nproc) cores, 1-minute load $(cut -d' ' -f1 /proc/loadavg) at the end)"
echo
"$loadgen" table "${table_args[@]}" | tee "$out/table.md"
