#!/usr/bin/env bash
# Instructions per request for the small hot requests, counted by valgrind's
# callgrind (repeatable from run to run, unlike timings on a shared
# machine): a manifest GET and a blob HEAD, each with a bearer token and
# with HTTP Basic (a token's name and password), and a token login
# (`/oauth2/token` with the token's name and password; audited). The server runs under
# callgrind with instrumentation off while the image and token are set up;
# then it is switched on, every case is sent WARMUP unmeasured requests,
# and for each case in turn the counters are zeroed, REQUESTS requests sent
# over one keep-alive connection (after WARMUP more), and the counters dumped. Every thread of
# the server counts (the audit writer included), so the figure is all the
# work one request causes.
#
#   bench/callgrind.sh                    # 200 requests per case
#   REQUESTS=20 bench/callgrind.sh        # to check the script
#   DATABASE_URL=postgres://... bench/callgrind.sh   # on PostgreSQL (the server's --database-url)
#
# Prints instructions per request per case; the 25 costliest functions of
# each case (self cost) go to $work/<case>.txt, kept with KEEP=1.
# Uses $PORTCULLIS_BIN, or ${CARGO_TARGET_DIR:-target}/release/portcullis
# (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=portcullis

for tool in valgrind callgrind_control callgrind_annotate curl jq; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install valgrind curl jq)" >&2; exit 1; }
done
REQUESTS=${REQUESTS:-200}
WARMUP=${WARMUP:-20}
BIN=${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-target}/release/portcullis}
if [ ! -x "$BIN" ]; then cargo build --release -p server --bin portcullis >&2; fi
echo "bench: $BIN, built $(date -r "$BIN" '+%F %T'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" >&2

work=$(mktemp -d "${TMPDIR:-/var/tmp}/portcullis-callgrind.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

PASSWORD=bench-admin-password
PORT=${PORT:-5150}
BASE="http://127.0.0.1:$PORT"
extra=()
if [ -n "${DATABASE_URL:-}" ]; then extra+=(--database-url "$DATABASE_URL"); fi
PORTCULLIS_ADMIN_PASSWORD=$PASSWORD PORTCULLIS_LOG=warn PORTCULLIS_RATE_LIMIT_READS=0 PORTCULLIS_RATE_LIMIT_WRITES=0 \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$work/data" "${extra[@]}" >"$work/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do curl -s -o /dev/null "$BASE/healthz" && break; sleep 0.5; done
curl -sf -o /dev/null "$BASE/healthz" || { echo "bench: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

# An image (a config and a small layer) and a token that may pull it.
config='{"architecture":"amd64","os":"linux"}'
layer='a layer of a few bytes'
push_blob() {
  local digest="sha256:$(printf %s "$1" | sha256sum | cut -c1-64)"
  printf %s "$1" | curl -sf -o /dev/null -u "admin:$PASSWORD" -H 'Content-Type: application/octet-stream' \
    --data-binary @- "$BASE/v2/bench/app/blobs/uploads/?digest=$digest"
  echo "$digest"
}
config_digest=$(push_blob "$config")
layer_digest=$(push_blob "$layer")
manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
  "$config_digest" ${#config} "$layer_digest" ${#layer})
curl -sf -o /dev/null -u "admin:$PASSWORD" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data "$manifest" "$BASE/v2/bench/app/manifests/v1"
token_password=$(curl -sf -u "admin:$PASSWORD" -H 'Content-Type: application/json' \
  -d '{"name":"bench-puller","repositories":[{"repository":"bench/*","actions":["content/read","metadata/read"]}]}' \
  "$BASE/api/v1/tokens" | jq -r '.credentials.passwords[0].value')
bearer=$(curl -sf -u "bench-puller:$token_password" "$BASE/oauth2/token?service=127.0.0.1:$PORT&scope=repository:bench/app:pull" | jq -r .token)

# `curl` given the same URL N times sends N requests over one connection;
# every answer must be 200.
requests() { # count, curl args...
  local count=$1; shift
  local urls=()
  for _ in $(seq "$count"); do urls+=(-o /dev/null "$url"); done
  local codes; codes=$(curl -s -w '%{http_code}\n' "$@" "${urls[@]}")
  if [ "$(grep -cx 200 <<<"$codes")" -ne "$count" ]; then
    echo "bench: not every answer was 200: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')" >&2; exit 1
  fi
}
accept=(-H "Accept: application/vnd.oci.image.manifest.v1+json")
cases=(manifest-get-bearer manifest-get-basic blob-head-bearer blob-head-basic token-login)
# The URL and arguments of a case, in $url, $method and $auth.
setup() {
  case $1 in
    manifest-*) url="$BASE/v2/bench/app/manifests/v1"; method=("${accept[@]}") ;;
    blob-*) url="$BASE/v2/bench/app/blobs/$layer_digest"; method=(-I) ;;
    token-*) url="$BASE/oauth2/token?service=127.0.0.1:$PORT&scope=repository:bench/app:pull"; method=() ;;
  esac
  case $1 in
    *-bearer) auth=(-H "Authorization: Bearer $bearer") ;;
    *-basic | token-login) auth=(-u "bench-puller:$token_password") ;;
  esac
}
# Every case unmeasured first, at the speed of the measured runs
# (instrumented), so one-time work happens before the measured windows.
# On PostgreSQL sqlx's pools may still open a connection inside one (its
# SCRAM sign-in is some 30 million instructions, about 150,000 more per
# request at 200 requests): a case that stands out so is run again.
callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
for case in "${cases[@]}"; do setup "$case"; requests "$WARMUP" "${method[@]}" "${auth[@]}"; done
printf '%-36s %16s\n' "request ($REQUESTS measured)" "instructions"
for case in "${cases[@]}"; do
  setup "$case"
  requests "$WARMUP" "${method[@]}" "${auth[@]}"
  callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
  requests "$REQUESTS" "${method[@]}" "${auth[@]}"
  before=$(ls "$work"/callgrind.out* | wc -l)
  callgrind_control -d "$case" "$SERVER_PID" >/dev/null 2>&1
  for _ in $(seq 100); do [ "$(ls "$work"/callgrind.out* | wc -l)" -gt "$before" ] && break; sleep 0.1; done
  dump=$(ls -t "$work"/callgrind.out.* | head -1)
  total=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
  printf '%-36s %16s\n' "$case" "$((total / REQUESTS))"
  callgrind_annotate "$dump" 2>/dev/null | head -60 >"$work/$case.txt" || true
done
