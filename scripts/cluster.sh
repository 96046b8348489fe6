#!/usr/bin/env bash
# Starts N jamd nodes (default 3) on ports 8081, 8082, … against one PostgreSQL database and one Redis,
# and HAProxy on :8080 in front of them (deploy/haproxy.cfg): the cluster mode of DESIGN.md §4, on one
# machine. Ctrl-C stops them all (SIGTERM, so live clients are told to reconnect elsewhere).
#
#   just cluster 3
#
# Environment (defaults in brackets):
#   JAM_CLUSTER_PG      PostgreSQL server, without a database [postgres://postgres@127.0.0.1:5432]
#   JAM_CLUSTER_DB      database, created if missing [openjam_cluster]
#   JAM_CLUSTER_REDIS   Redis [redis://127.0.0.1:6379]
#   JAM_CLUSTER_LB      the balancer's listen address, "" for none [127.0.0.1:8080]
#   JAM_CLUSTER_ORIGIN  the origin browsers use [http://JAM_CLUSTER_LB, or each node's own
#                       http://127.0.0.1:PORT without a balancer]
# Any JAM__SECTION__KEY variable set by the caller reaches every node. Logs go to data/cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-3}
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 50)); then
  echo "usage: scripts/cluster.sh N   (1 to 50 nodes)" >&2
  exit 2
fi
pg=${JAM_CLUSTER_PG:-postgres://postgres@127.0.0.1:5432}
pg=${pg%/}
db=${JAM_CLUSTER_DB:-openjam_cluster}
redis=${JAM_CLUSTER_REDIS:-redis://127.0.0.1:6379}
lb=${JAM_CLUSTER_LB-127.0.0.1:8080}
if [[ -n $lb ]]; then
  command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install haproxy), or set JAM_CLUSTER_LB=\"\"" >&2; exit 1; }
  # The nodes read the client's address from the balancer's X-Forwarded-For.
  export JAM__SERVER__TRUSTED_PROXIES="${JAM__SERVER__TRUSTED_PROXIES:-127.0.0.1/32}"
  origin_default="http://$lb"
fi
if ! [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "JAM_CLUSTER_DB must be a plain identifier" >&2
  exit 2
fi

pg_isready -d "$pg/postgres" >/dev/null || { echo "PostgreSQL does not answer at $pg" >&2; exit 1; }
redis-cli -u "$redis" ping >/dev/null || { echo "Redis does not answer at $redis" >&2; exit 1; }
if [[ $(psql "$pg/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") != 1 ]]; then
  psql "$pg/postgres" -qc "CREATE DATABASE \"$db\""
  echo "created database $db"
fi

cargo build --release --bin jamd
jamd=target/release/jamd
export JAM__DATABASE__URL="$pg/$db"
export JAM__BROKER__KIND=redis
export JAM__BROKER__REDIS_URL="$redis"
# One vote batch at a time per node: the nodes' batches contend for the same ideas (config/default.toml).
export JAM__VOTES__POSTGRES_WRITERS="${JAM__VOTES__POSTGRES_WRITERS:-1}"
# Once, before the nodes start (they would also agree among themselves).
"$jamd" migrate

logs=data/cluster
mkdir -p "$logs"
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping ${#pids[@]} nodes"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
}
trap stop INT TERM EXIT

for i in $(seq 1 "$n"); do
  port=$((8080 + i))
  JAM__SERVER__BIND="127.0.0.1:$port" \
    JAM__SERVER__PUBLIC_ORIGIN="${JAM_CLUSTER_ORIGIN:-${origin_default:-http://127.0.0.1:$port}}" \
    "$jamd" serve >"$logs/node-$i.log" 2>&1 &
  pids+=($!)
done

for i in $(seq 1 "$n"); do
  port=$((8080 + i))
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
      echo "node $i did not start; see $logs/node-$i.log:" >&2
      tail -n 5 "$logs/node-$i.log" >&2
      exit 1
    fi
    sleep 0.2
  done
done

if [[ -n $lb ]]; then
  {
    echo "backend jamd"
    for i in $(seq 1 "$n"); do echo "    server node$i 127.0.0.1:$((8080 + i))"; done
  } >"$logs/haproxy-nodes.cfg"
  JAM_LB_BIND="$lb" haproxy -db -f deploy/haproxy.cfg -f "$logs/haproxy-nodes.cfg" >"$logs/haproxy.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do
    if curl -fsS "http://$lb/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
fi

echo
echo "$n jamd nodes on PostgreSQL $pg/$db and Redis $redis:"
for i in $(seq 1 "$n"); do echo "  node $i: http://127.0.0.1:$((8080 + i))   (log: $logs/node-$i.log)"; done
if [[ -n $lb ]]; then echo "  HAProxy in front of them: http://$lb   (log: $logs/haproxy.log)"; fi
echo
echo "First admin: JAM__DATABASE__URL=$pg/$db $jamd admin create --email you@example.org --role admin"
echo "Ctrl-C stops every node."
wait
