#!/usr/bin/env bash
# Runs schemathesis (PyPI `schemathesis` 4.x) against a fresh jamd: every check, every phase
# (examples, coverage, fuzzing, stateful), once signed in as a facilitator and once as a participant,
# with the path parameters pinned to a seeded jam. Exits non-zero on any failure. Left out: the
# WebSocket upgrade (not HTTP request/response) and sign-out, which would end the sign-in the run uses.
#
# Usage: [JAMD=path/to/jamd] scripts/schemathesis.sh [--max-examples N]   (needs `schemathesis`)
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples=30
while [ $# -gt 0 ]; do
  case $1 in
    --max-examples) max_examples=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

command -v schemathesis >/dev/null || { echo "schemathesis is not installed: pip install 'schemathesis>=4,<5'" >&2; exit 1; }

# JAMD names an already built binary; otherwise the debug build is brought up to date.
jamd=${JAMD:-}
if [ -z "$jamd" ]; then
  cargo build -q -p jam-server --bin jamd
  jamd=${CARGO_TARGET_DIR:-$PWD/target}/debug/jamd
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
password="correct horse battery staple"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export JAM__SERVER__BIND="127.0.0.1:$port"
export JAM__SERVER__PUBLIC_ORIGIN="$base"
export JAM__DATABASE__URL="sqlite://$work/jam.db"
export JAM__LOG__FILTER=warn
# The generated requests all come from one address and one sign-in, far faster than a person.
for limit in LOGIN JOIN WELCOME IDEAS COMMENTS VOTES FLAGS CONNECTIONS; do
  export "JAM__RATE_LIMITS__${limit}__COUNT=1000000"
done
export JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY=1000000
export JAM__SERVER__MAX_CONNECTIONS_PER_ADDRESS=0

(cd "$work" && printf '%s\n' "$password" | "$jamd" admin create --email admin@example.org --role admin >/dev/null)
(cd "$work" && exec "$jamd" serve >"$work/jamd.log" 2>&1) &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/jamd.log" >&2; exit 1; }
  sleep 0.2
done

# The seed: a facilitator, a live jam with an open session, a participant, an idea and a comment.
api() { # cookie-jar method path [json]
  local jar=$1 method=$2 path=$3 body=${4:-}
  curl -sS --fail-with-body -b "$jar" -c "$jar" -X "$method" -H "Origin: $base" -H 'Content-Type: application/json' \
    ${body:+--data "$body"} "$base/api/v1$path"
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
admin=$work/admin.jar fac=$work/fac.jar ada=$work/ada.jar
api "$admin" POST /auth/login "{\"email\":\"admin@example.org\",\"password\":\"$password\"}" >/dev/null
api "$admin" POST /staff "{\"email\":\"fac@example.org\",\"display_name\":\"Fac\",\"role\":\"facilitator\",\"password\":\"$password\"}" >/dev/null
api "$fac" POST /auth/login "{\"email\":\"fac@example.org\",\"password\":\"$password\"}" >/dev/null
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
jam=$(api "$fac" POST /jams "{\"slug\":\"fuzz\",\"title\":\"Fuzz jam\",\"description\":\"d\",\"guidelines\":\"g\",\"starts_at\":\"$(iso $((now - 60)))\",\"ends_at\":\"$(iso $((now + 86400)))\",\"audiences\":[{\"name\":\"employee\",\"invite_code\":\"fuzz-employee-code\"}]}")
session=$(api "$fac" POST /jams/fuzz/sessions "{\"title\":\"Open\",\"opens_at\":\"$(iso $((now - 30)))\",\"closes_at\":\"$(iso $((now + 80000)))\"}" | json "['id']")
api "$fac" POST /jams/fuzz/schedule >/dev/null
api "$fac" POST "/jams/fuzz/sessions/$session/open" >/dev/null 2>&1 || true
api "$ada" POST /jams/fuzz/join '{"invite_code":"fuzz-employee-code","display_name":"Ada","accept_guidelines":true}' >/dev/null
idea=$(api "$ada" POST "/sessions/$session/ideas" '{"title":"An idea","body":"Its body","tags":["fuzz"]}' | json "['id']")
comment=$(api "$ada" POST "/ideas/$idea/comments" '{"body":"A comment"}' | json "['id']")
: "$jam"

cookie_of() { awk -v name="${JAM__AUTH__COOKIE_NAME:-jam_session}" '$6 == name { print $6 "=" $7 }' "$1"; }

cat >"$work/schemathesis.toml" <<EOF
# The session cookie as the document's security scheme, so schemathesis also tries without it.
[auth.openapi.session_cookie]
api_key = "\${JAM_SESSION}"

[parameters]
"path.slug" = "fuzz"
"path.id" = "$idea"
EOF

run() { # who cookie-jar
  echo "=== schemathesis as $1 ==="
  JAM_SESSION=$(cookie_of "$2" | cut -d= -f2-) schemathesis --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
    --checks all --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" --workers 1 --seed 1 \
    -H "Origin: $base" \
    --exclude-path /api/v1/live --exclude-path /api/v1/auth/logout
}
status=0
run facilitator "$fac" || status=1
run participant "$ada" || status=1
: "$comment"
exit $status
