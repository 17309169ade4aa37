#!/usr/bin/env bash
# Several replicas, side by side with CNCF Distribution 2.8 (Debian's
# docker-registry) run the same way: REPLICAS processes of each on one
# shared store, behind one haproxy each that balances request by request.
# Prints each measurement for both and the ratio (Portcullis /
# Distribution; for times and latency lower is better, for rates higher),
# then how long a revocation on one Portcullis replica takes to reach
# another (Distribution has no tokens to revoke).
#
#   bench/replicas.sh                         # SQLite and a directory, shared by the replicas
#   DATABASE=postgres STORAGE=s3 bench/replicas.sh   # PostgreSQL and Garage (S3), both started here
#   QUICK=1 bench/replicas.sh                 # small sizes and short runs, to check the script
#
# DATABASE=sqlite|postgres and STORAGE=dir|s3 choose Portcullis's
# backends; with STORAGE=s3 Distribution uses its S3 driver on the same
# Garage. With STORAGE=s3, REDIRECT=1 answers blob GETs of both with a
# redirect to a presigned URL of the bucket (Portcullis's --s3-redirect,
# Distribution's default); REDIRECT=0 (the default) streams them through
# the replicas on both (Distribution's `redirect: { disable: true }`).
# Other tunables: REPLICAS (3), LAYER_MIB (512), WRK_SECONDS (10),
# TRIALS (1000), KEEP=1 to keep the temporary directory.
# Uses $PORTCULLIS_BIN, or ${CARGO_TARGET_DIR:-target}/release/portcullis
# (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH:/usr/sbin" LEPTOS_OUTPUT_NAME=portcullis

missing=()
for tool in skopeo wrk curl jq bc haproxy docker-registry python3; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Each tool's Debian package has its name.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "bench: missing ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
  fi
fi

DATABASE=${DATABASE:-sqlite}
STORAGE=${STORAGE:-dir}
REPLICAS=${REPLICAS:-3}
LAYER_MIB=${LAYER_MIB:-512}
WRK_SECONDS=${WRK_SECONDS:-10}
TRIALS=${TRIALS:-1000}
REDIRECT=${REDIRECT:-0}
if [ -n "${QUICK:-}" ]; then LAYER_MIB=8; WRK_SECONDS=2; TRIALS=50; fi

BIN=${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-target}/release/portcullis}
if [ ! -x "$BIN" ]; then cargo build --release -p server --bin portcullis >&2; fi
echo "bench: $BIN, built $(date -r "$BIN" '+%F %T'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $REPLICAS replicas, $DATABASE, $STORAGE, redirect $REDIRECT" >&2

work=$(mktemp -d "${TMPDIR:-/var/tmp}/portcullis-replicas.XXXXXX")
chmod 755 "$work"   # PostgreSQL's cluster below it belongs to the postgres user
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$STORAGE" = s3 ]; then scripts/garage.sh stop "$work/garage" >/dev/null 2>&1 || true; fi
  if [ "$DATABASE" = postgres ]; then scripts/postgres.sh stop "$work/postgres" >/dev/null 2>&1 || true; fi
  if [ -n "${KEEP:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

PASSWORD=bench-admin-password
P_LB=5120
D_LB=5121
p_port() { echo $((5130 + $1)); }
d_port() { echo $((5140 + $1)); }

# --- the shared backends -------------------------------------------------
p_args=(--login-server "127.0.0.1:$P_LB")
d_storage="filesystem: { rootdirectory: $work/distribution }"
if [ "$STORAGE" = s3 ]; then
  # PORTCULLIS_STORAGE (s3://bucket), PORTCULLIS_S3_ENDPOINT and _REGION,
  # and the AWS credentials, for Portcullis; the same bucket for
  # Distribution under another root.
  eval "$(scripts/garage.sh start "$work/garage")"
  export PORTCULLIS_STORAGE="$PORTCULLIS_STORAGE/portcullis"
  bucket=${PORTCULLIS_STORAGE#s3://}; bucket=${bucket%%/*}
  d_storage="s3: { accesskey: $AWS_ACCESS_KEY_ID, secretkey: $AWS_SECRET_ACCESS_KEY, region: $PORTCULLIS_S3_REGION, regionendpoint: $PORTCULLIS_S3_ENDPOINT, bucket: $bucket, rootdirectory: /distribution, secure: false, forcepathstyle: true }"
  if [ "$REDIRECT" = 1 ]; then
    p_args+=(--s3-redirect)
    d_storage="$d_storage, redirect: { disable: false }"
  else
    d_storage="$d_storage, redirect: { disable: true }"
  fi
fi
if [ "$DATABASE" = postgres ]; then
  admin_url=$(scripts/postgres.sh start "$work/postgres" | tail -1)
  psql -q "$admin_url" -c "CREATE DATABASE portcullis_bench TEMPLATE template0 LOCALE 'C'" >/dev/null
  p_args+=(--database-url "${admin_url%/*}/portcullis_bench")
fi
# Each replica has a data directory of its own; the database (one SQLite
# file: several processes on one machine) and the blob store (one
# directory, or the bucket) are shared.
if [ "$DATABASE" = sqlite ]; then p_args+=(--database-url "sqlite://$work/shared/portcullis.db"); fi
if [ "$STORAGE" = dir ]; then p_args+=(--storage "$work/shared/blobs"); fi
mkdir -p "$work/shared"

# --- the replicas --------------------------------------------------------
for i in $(seq 0 $((REPLICAS - 1))); do
  data=$work/portcullis-$i
  PORTCULLIS_ADMIN_PASSWORD=$PASSWORD PORTCULLIS_LOG=warn PORTCULLIS_RATE_LIMIT_READS=0 PORTCULLIS_RATE_LIMIT_WRITES=0 \
    "$BIN" serve --listen "127.0.0.1:$(p_port "$i")" --data-dir "$data" "${p_args[@]}" >"$work/portcullis-$i.log" 2>&1 &
  pids+=($!)
  # One after the other: the first start creates the database.
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$(p_port "$i")/readyz" && break; sleep 0.2; done
  cat >"$work/distribution-$i.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { $d_storage, delete: { enabled: true } }
http: { addr: 127.0.0.1:$(d_port "$i"), secret: bench-shared-secret }
YAML
  (unset $(env | awk -F= '/^REGISTRY_/ { print $1 }') AWS_CA_BUNDLE; exec docker-registry serve "$work/distribution-$i.yml") \
    >"$work/distribution-$i.log" 2>&1 &
  pids+=($!)
done
{
  echo "global"; echo "  maxconn 4096"
  echo "defaults"; echo "  mode http"; echo "  timeout connect 5s"; echo "  timeout client 300s"; echo "  timeout server 300s"
  for name in portcullis distribution; do
    if [ $name = portcullis ]; then lb=$P_LB; else lb=$D_LB; fi
    echo "frontend $name"; echo "  bind 127.0.0.1:$lb"; echo "  default_backend $name-replicas"
    echo "backend $name-replicas"; echo "  balance roundrobin"
    for i in $(seq 0 $((REPLICAS - 1))); do
      if [ $name = portcullis ]; then port=$(p_port "$i"); else port=$(d_port "$i"); fi
      echo "  server r$i 127.0.0.1:$port"
    done
  done
} >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
for port in $P_LB $D_LB; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.2; done
done

# --- the image -----------------------------------------------------------
layout="$work/layout"
make_layout "$layout" "$LAYER_MIB" "$work"

seconds() {
  local start=$(date +%s.%N)
  if ! "$@" >"$work/last.log" 2>&1; then
    echo "bench: failed: $*" >&2; cat "$work/last.log" >&2; exit 1
  fi
  echo "$(date +%s.%N) - $start" | bc
}
rows=()
row() { rows+=("$(printf '%-52s %14s %14s %8s' "$1" "$2" "$3" "$(echo "scale=2; $2 / $3" | bc)")"); }

skopeo_push() { # port, repository, skopeo args...
  local port=$1 repository=$2; shift 2
  skopeo copy --dest-tls-verify=false --preserve-digests "$@" "oci:$layout:v1" "docker://127.0.0.1:$port/$repository:v1"
}
skopeo_pull() {
  local port=$1 repository=$2; shift 2
  rm -rf "$work/pulled"
  skopeo copy --src-tls-verify=false --preserve-digests "$@" "docker://127.0.0.1:$port/$repository:v1" "oci:$work/pulled:v1"
}
for via in one three; do
  if [ $via = one ]; then p=$(p_port 0); d=$(d_port 0); else p=$P_LB; d=$D_LB; fi
  row "skopeo push ${LAYER_MIB} MiB, $via replica(s) (s)" \
    "$(seconds skopeo_push "$p" "bench/$via" --dest-creds "admin:$PASSWORD")" "$(seconds skopeo_push "$d" "bench/$via")"
  row "skopeo pull ${LAYER_MIB} MiB, $via replica(s) (s)" \
    "$(seconds skopeo_pull "$p" "bench/$via" --src-creds "admin:$PASSWORD")" "$(seconds skopeo_pull "$d" "bench/$via")"
done

# --- manifest GETs ---------------------------------------------------------
token() {
  curl -sf -u "admin:$PASSWORD" "http://127.0.0.1:$P_LB/oauth2/token?service=127.0.0.1:$P_LB&scope=repository:bench/one:pull" | jq -r .token
}
rate() {
  local out; out=$(cat)
  if grep -q "Non-2xx or 3xx responses\|Socket errors" <<<"$out"; then echo "bench: wrk saw errors:" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ { print $2 }' <<<"$out"
}
p99() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }'; }
accept=(-H "Accept: application/vnd.oci.image.manifest.v1+json")
for c in 16 64; do
  for via in one three; do
    if [ $via = one ]; then p=$(p_port 0); d=$(d_port 0); else p=$P_LB; d=$D_LB; fi
    p_out=$(wrk -t 2 -c "$c" -d "${WRK_SECONDS}s" --latency -H "Authorization: Bearer $(token)" "${accept[@]}" \
      "http://127.0.0.1:$p/v2/bench/one/manifests/v1" 2>&1)
    d_out=$(wrk -t 2 -c "$c" -d "${WRK_SECONDS}s" --latency "${accept[@]}" "http://127.0.0.1:$d/v2/bench/one/manifests/v1" 2>&1)
    row "manifest GET req/s, $c conns, $via replica(s)" "$(rate <<<"$p_out")" "$(rate <<<"$d_out")"
    row "manifest GET p99 ms, $c conns, $via replica(s)" "$(p99 <<<"$p_out")" "$(p99 <<<"$d_out")"
  done
done

printf '%-52s %14s %14s %8s\n' "measurement ($REPLICAS replicas, $DATABASE, $STORAGE)" "portcullis" "distribution" "ratio"
printf '%s\n' "${rows[@]}"

# --- revocation ------------------------------------------------------------
# A token is disabled through replica 0's API; right after the answer, its
# bearer token is tried on replica 1 until refused. Reported: the most
# requests replica 1 needed (1 = the next request), and the time from
# replica 0's answer to replica 1's refusal.
password=$(curl -sf -u "admin:$PASSWORD" -H 'Content-Type: application/json' \
  -d '{"name":"revoke-probe","repositories":[{"repository":"bench/*","actions":["content/read","metadata/read"]}]}' \
  "http://127.0.0.1:$P_LB/api/v1/tokens" | jq -r '.credentials.passwords[0].value')
python3 - "127.0.0.1:$(p_port 0)" "127.0.0.1:$(p_port 1)" "127.0.0.1:$P_LB" "$PASSWORD" "$password" "$TRIALS" <<'PY'
import base64, http.client, json, statistics, sys, time
a, b, service, admin_password, password, trials = sys.argv[1:7]
trials = int(trials)
def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
conn_a, conn_b = http.client.HTTPConnection(a), http.client.HTTPConnection(b)
def call(conn, method, path, headers, body=None):
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    return answer.status, answer.read()
admin = {"Authorization": basic("admin", admin_password), "Content-Type": "application/json"}
manifest = "/v2/bench/one/manifests/v1"
accept = "application/vnd.oci.image.manifest.v1+json"
delays, requests = [], []
for trial in range(trials):
    status, body = call(conn_b, "GET", f"/oauth2/token?service={service}&scope=repository:bench/one:pull",
                        {"Authorization": basic("revoke-probe", password)})
    assert status == 200, (trial, status, body)
    bearer = {"Authorization": "Bearer " + json.loads(body)["token"], "Accept": accept}
    status, _ = call(conn_b, "GET", manifest, bearer)
    assert status == 200, (trial, status)
    status, body = call(conn_a, "PATCH", "/api/v1/tokens/revoke-probe", admin, json.dumps({"status": "disabled"}))
    assert status == 200, (trial, status, body)
    answered = time.perf_counter()
    for attempt in range(1, 100001):
        status, _ = call(conn_b, "GET", manifest, bearer)
        if status == 401:
            break
    else:
        sys.exit(f"trial {trial}: replica 1 still served the revoked token after 100000 requests")
    delays.append(time.perf_counter() - answered)
    requests.append(attempt)
    status, body = call(conn_a, "PATCH", "/api/v1/tokens/revoke-probe", admin, json.dumps({"status": "enabled"}))
    assert status == 200, (trial, status, body)
print(f"revocation on replica 0 → refused on replica 1, {trials} trials: "
      f"requests needed max {max(requests)} (1 = the next request); "
      f"time from the answer to the refusal p50 {statistics.median(delays) * 1000:.2f} ms, "
      f"max {max(delays) * 1000:.2f} ms")
PY
