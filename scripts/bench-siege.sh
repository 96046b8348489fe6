#!/usr/bin/env bash
# The siege benchmark (`just bench-siege`): one jamd node on the embedded default (SQLite, memory
# broker) with its default limits, attacked cheaply while a probe keeps using it.
# `jam-loadgen siege-bench` runs three phases of SECS seconds each:
#   quiet:        only the probe, for comparison;
#   slowloris:    SOCKETS connections, each sending a sign-in's headers with a 100 kB Content-Length,
#                 then one byte of the body every 5 s (reopened at once whenever the server ends one);
#   login flood:  LOGINS clients signing in as the staff account over and over (closed loop).
# The probe, on its own connections: a participant votes (up, withdrawn, up, …) every 300 ms (inside
# the default 300 votes a minute per participant) and /healthz is fetched every 100 ms. Reported
# per phase: what the attack got (answers by status), /healthz answered and its p99, the votes' p50/p99/max and failures, the node's largest RSS, and the goal
# (every health check 200, vote p99 ≤ 1 s with none failed, RSS < 1 GiB).
# One change to the node's defaults: the sign-in rate per address is lifted, so that the flood
# reaches the password hashing (its own pool, `auth.hash_concurrency`, 503 beyond) instead of being
# stopped at 10 a minute per address before it: this measures the hashing pool, the harder case.
# The attackers come from 127.0.0.2… (100 source addresses). Keep builds off the machine while measuring.
#
#   bash scripts/bench-siege.sh               # 30 s phases, 1,000 sockets, 500 sign-ins
#   bash scripts/bench-siege.sh --small       # 5 s phases, 100 sockets, 50 sign-ins
#
# Options: --secs N [30]  --sockets N [1000]  --logins N [500]  --jamd PATH [built here]
# Environment: CARGO_TARGET_DIR [target].
set -euo pipefail
cd "$(dirname "$0")/.."

secs=30 sockets=1000 logins=500 jamd=""
while (($#)); do
  case $1 in
    --small) secs=5 sockets=100 logins=50 ;;
    --secs) secs=$2; shift ;;
    --sockets) sockets=$2; shift ;;
    --logins) logins=$2; shift ;;
    --jamd) jamd=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
build_bench "$jamd"

out=$(mktemp -d /tmp/bench-siege.XXXXXX)
echo "report and logs: $out" >&2
password="bench-$(date +%s%N)"
export JAM_LOADGEN_PASSWORD=$password
node_pid=""
cleanup() {
  if [[ -n $node_pid ]]; then kill -TERM "$node_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT

busy=$(pgrep -c -x rustc || true)
if ((busy > 0)); then echo "warning: $busy rustc processes are running: the figures will be disturbed" >&2; fi

port=18191
origin="http://127.0.0.1:$port"
node_env=(
  JAM__LOG__FILTER=warn
  JAM__SERVER__BIND="127.0.0.1:$port"
  JAM__SERVER__PUBLIC_ORIGIN="$origin"
  JAM__DATABASE__URL="sqlite://$out/jam.db"
  JAM__RATE_LIMITS__LOGIN__COUNT=1000000
)
env "${node_env[@]}" JAM_ADMIN_PASSWORD="$password" \
  "$jamd" admin create --email admin@example.org --role admin >"$out/admin.log" 2>&1
env "${node_env[@]}" "$jamd" serve >"$out/jamd.log" 2>&1 &
node_pid=$!
wait_healthy "$origin" "$node_pid" "$out/jamd.log"

echo "== siege: $secs s per phase, $sockets slow sockets, $logins concurrent sign-ins" >&2
"$loadgen" siege-bench --nodes "127.0.0.1:$port" --origin "$origin" --pid "$node_pid" \
  --secs "$secs" --sockets "$sockets" --logins "$logins" --json "$out/siege.json" >"$out/table.md"
echo
echo "Siege benchmark: one node (SQLite), $(nproc) cores, $secs s per phase"
echo
cat "$out/table.md"
