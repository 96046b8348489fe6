# Shared by the benchmark scripts that drive a release jamd with jam-loadgen (sourced, not run).

# build_bench [JAMD]: builds the release jam-loadgen (and jamd, unless JAMD names one already built);
# sets `jamd` and `loadgen` to their paths. Honours CARGO_TARGET_DIR.
build_bench() {
  local target=${CARGO_TARGET_DIR:-target}
  jamd=${1:-}
  if [[ -z $jamd ]]; then
    cargo build --release -p jam-server -p jam-loadgen
    jamd=$target/release/jamd
  else
    cargo build --release -p jam-loadgen
  fi
  [[ -x $jamd ]] || { echo "no jamd at $jamd" >&2; exit 1; }
  loadgen=$target/release/jam-loadgen
}

# wait_healthy ORIGIN PID LOG: waits (at most 60 s) until the node at ORIGIN answers /healthz; exits
# with the log's tail if the process PID dies first or the time runs out.
wait_healthy() {
  local origin=$1 pid=$2 log=$3
  for _ in $(seq 1 300); do
    if curl -fsS "$origin/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "jamd did not start; see $log:" >&2; tail -n 20 "$log" >&2; exit 1; fi
    sleep 0.2
  done
  echo "jamd at $origin not healthy after 60 s; see $log" >&2
  exit 1
}
