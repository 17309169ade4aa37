#!/usr/bin/env bash
# Side-by-side benchmark: Portcullis against CNCF Distribution 2.8 (Debian's
# docker-registry), both on loopback, both storing on the same disk.
# Prints each measurement for both and the ratio (Portcullis / Distribution;
# for times and latency lower is better, for rates higher is better).
#
#   bench/registry.sh            # full run (512 MiB layer, 1 GiB blob)
#   QUICK=1 bench/registry.sh    # small sizes, to check the script itself
#   PORTCULLIS_BIN=/path/to/portcullis bench/registry.sh   # that build (A/B runs)
#   DATABASE_URL=postgres://... bench/registry.sh   # Portcullis on PostgreSQL (--database-url;
#                                                   # an empty database, e.g. scripts/postgres.sh's)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=portcullis

export PATH="$PATH:/usr/sbin"
for tool in skopeo wrk ab curl docker-registry jq bc docker dockerd; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install skopeo wrk apache2-utils curl docker-registry jq bc docker.io)" >&2; exit 1; }
done

LAYER_MIB=${LAYER_MIB:-512}
BLOB_MIB=${BLOB_MIB:-1024}
WRK_SECONDS=${WRK_SECONDS:-10}
if [ -n "${QUICK:-}" ]; then LAYER_MIB=8; BLOB_MIB=16; WRK_SECONDS=2; fi

if [ -z "${PORTCULLIS_BIN:-}" ]; then
  cargo build --release -p server --bin portcullis >&2
  PORTCULLIS_BIN="${CARGO_TARGET_DIR:-target}/release/portcullis"
fi
echo "bench: $PORTCULLIS_BIN, built $(date -r "$PORTCULLIS_BIN" '+%F %T')" >&2
work=$(mktemp -d "${TMPDIR:-/var/tmp}/portcullis-bench.XXXXXX")
pids=()
DOCKERD_PID=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # The engine stops once its stdin closes and unmounts its layers before
  # it exits: wait for it, so nothing below $work is mounted when it goes.
  if [ -n "$DOCKERD_PID" ]; then exec 8>&-; wait "$DOCKERD_PID" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

PASSWORD=bench-admin-password
P_PORT=5101
D_PORT=5102
database=()
if [ -n "${DATABASE_URL:-}" ]; then database=(--database-url "$DATABASE_URL"); fi
PORTCULLIS_ADMIN_PASSWORD=$PASSWORD PORTCULLIS_LOG=warn PORTCULLIS_RATE_LIMIT_READS=0 PORTCULLIS_RATE_LIMIT_WRITES=0 "$PORTCULLIS_BIN" serve \
  --listen 127.0.0.1:$P_PORT --data-dir "$work/portcullis" "${database[@]}" >"$work/portcullis.log" 2>&1 &
pids+=($!); P_PID=$!
cat >"$work/distribution.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $work/distribution }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$D_PORT }
YAML
docker-registry serve "$work/distribution.yml" >"$work/distribution.log" 2>&1 &
pids+=($!); D_PID=$!
for port in $P_PORT $D_PORT; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.2; done
done

# Portcullis needs credentials; Distribution runs without auth (its only
# built-in auth, htpasswd, would bcrypt every request). Portcullis is given
# a bearer token, the way real clients talk to it.
token() {
  curl -s -u "admin:$PASSWORD" "http://127.0.0.1:$P_PORT/oauth2/token?service=127.0.0.1:$P_PORT&scope=repository:bench/app:pull,push" | jq -r .token
}
bearer=$(token || true)
if [ -z "$bearer" ] || [ "$bearer" = null ]; then
  echo "bench: no token from Portcullis: it did not start, or refused the administrator's sign-in (with DATABASE_URL, name an empty database). Its log:" >&2
  cat "$work/portcullis.log" >&2; exit 1
fi
auth_p=(-H "Authorization: Bearer $bearer")
auth_d=()

# An OCI layout with one layer of random bytes.
layout="$work/layout"
make_layout "$layout" "$LAYER_MIB" "$work"

# Wall time of a command, in seconds; a failing command stops the
# benchmark. The page cache is flushed first
# (`sync`, untimed): each row's registry writes after the other registry's
# run, or after the script wrote its input (the 512 MiB layout, the 1 GiB
# blob), and without the flush the writeback of those bytes fell into the
# next run's time (Distribution never fsyncs, so its pushes left all their
# bytes dirty for whichever run came next).
seconds() {
  sync
  local start=$(date +%s.%N)
  if ! "$@" >"$work/last.log" 2>&1; then
    echo "bench: failed: $*" >&2; cat "$work/last.log" >&2; exit 1
  fi
  echo "$(date +%s.%N) - $start" | bc
}
rows=()
row() { rows+=("$(printf '%-44s %14s %14s %8s' "$1" "$2" "$3" "$(echo "scale=2; $2 / $3" | bc)")"); }

creds_p=(--dest-creds "admin:$PASSWORD")
skopeo_push() { # port, creds...
  local port=$1; shift
  skopeo copy --dest-tls-verify=false --preserve-digests "$@" "oci:$layout:v1" "docker://127.0.0.1:$port/bench/app:v1"
}
skopeo_pull() {
  local port=$1; shift
  rm -rf "$work/pulled"
  skopeo copy --src-tls-verify=false --preserve-digests "$@" "docker://127.0.0.1:$port/bench/app:v1" "oci:$work/pulled:v1"
}
# CPU time (user + system) a server process has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
p_ticks=$(cpu_ticks $P_PID); p_push=$(seconds skopeo_push $P_PORT "${creds_p[@]}"); p_ticks=$(( $(cpu_ticks $P_PID) - p_ticks ))
d_ticks=$(cpu_ticks $D_PID); d_push=$(seconds skopeo_push $D_PORT); d_ticks=$(( $(cpu_ticks $D_PID) - d_ticks ))
row "skopeo push ${LAYER_MIB} MiB layer (s)" "$p_push" "$d_push"
cpu_per_gib() { echo "scale=3; $1 / $TICK * 1024 / $LAYER_MIB" | bc; }
row "server CPU s per GiB pushed (skopeo)" "$(cpu_per_gib $p_ticks)" "$(cpu_per_gib $d_ticks)"
row "skopeo pull ${LAYER_MIB} MiB layer (s)" "$(seconds skopeo_pull $P_PORT --src-creds "admin:$PASSWORD")" "$(seconds skopeo_pull $D_PORT)"

# docker push of an image with one layer of LAYER_MIB random MiB, built
# FROM scratch, by a private Docker Engine (scripts/isolated-dockerd.sh; it
# stops when the descriptor holding its stdin closes). docker compresses
# the layer on every push, for both registries alike.
mkfifo "$work/dockerd.hold"
scripts/isolated-dockerd.sh "$work/d" <"$work/dockerd.hold" &
DOCKERD_PID=$!
exec 8>"$work/dockerd.hold"
export DOCKER_HOST="unix://$work/d/docker.sock" DOCKER_CONFIG="$work/docker-config" DOCKER_BUILDKIT=0
for _ in $(seq 150); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
mkdir -p "$work/context"
head -c $((LAYER_MIB * 1024 * 1024)) /dev/urandom >"$work/context/layer.bin"
printf 'FROM scratch\nCOPY layer.bin /layer.bin\n' >"$work/context/Dockerfile"
docker build -q -t "127.0.0.1:$P_PORT/bench/docker:v1" "$work/context" >/dev/null
docker tag "127.0.0.1:$P_PORT/bench/docker:v1" "127.0.0.1:$D_PORT/bench/docker:v1"
rm -rf "$work/context"
echo "$PASSWORD" | docker login -u admin --password-stdin "127.0.0.1:$P_PORT" >/dev/null
row "docker push ${LAYER_MIB} MiB layer (s)" \
  "$(seconds docker push "127.0.0.1:$P_PORT/bench/docker:v1")" "$(seconds docker push "127.0.0.1:$D_PORT/bench/docker:v1")"
docker rmi -f "127.0.0.1:$P_PORT/bench/docker:v1" "127.0.0.1:$D_PORT/bench/docker:v1" >/dev/null
exec 8>&-
wait "$DOCKERD_PID" || true
DOCKERD_PID=

head -c $((BLOB_MIB * 1024 * 1024)) /dev/urandom >"$work/blob"
blob_digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"
# The monolithic upload every registry supports: POST a session, PUT the
# whole blob to it with ?digest= (Distribution 2.8 ignores a single POST's body).
upload() { # base URL, curl auth args...
  local base=$1; shift
  local location
  location=$(curl -sf -D - -o /dev/null -X POST "$@" "$base/v2/bench/app/blobs/uploads/" | awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
  case "$location" in http*) ;; *) location="$base$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$blob_digest" ;; *) location="$location?digest=$blob_digest" ;; esac
  curl -sf -T "$work/blob" -H 'Content-Type: application/octet-stream' "$@" "$location"
}
auth_p=(-H "Authorization: Bearer $(token)")
row "curl upload ${BLOB_MIB} MiB blob (s)" \
  "$(seconds upload "http://127.0.0.1:$P_PORT" "${auth_p[@]}")" \
  "$(seconds upload "http://127.0.0.1:$D_PORT")"
download() { curl -sf -o /dev/null "$@"; }
row "curl download ${BLOB_MIB} MiB blob (s)" \
  "$(seconds download "${auth_p[@]}" "http://127.0.0.1:$P_PORT/v2/bench/app/blobs/$blob_digest")" \
  "$(seconds download -L "http://127.0.0.1:$D_PORT/v2/bench/app/blobs/$blob_digest")"
peak_rss() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
row "peak RSS after the transfers (MiB)" "$(peak_rss $P_PID)" "$(peak_rss $D_PID)"

wrk_run() { # connections, url, extra args...
  local c=$1 url=$2; shift 2
  wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${WRK_SECONDS}s" --latency "$@" "$url" 2>&1
}
# Requests/s, refusing runs where any answer was not 2xx/3xx.
rate() {
  local out; out=$(cat)
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then echo "bench: wrk saw error answers:" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ { print $2 }' <<<"$out"
}
p99() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }'; }
manifest_path="/v2/bench/app/manifests/v1"
accept=(-H "Accept: application/vnd.oci.image.manifest.v1+json")
# Server CPU per request in µs: clock ticks used over the requests answered.
per_request_us() { echo "scale=1; $1 * 1000000 / $TICK / $2" | bc; }
# The transfers above leave gigabytes of dirty pages, and the kernel's
# flushing of them takes the CPU from both servers and from wrk for seconds:
# a 1-connection run of manifest GETs had a p99 of 0.2-0.4 ms on an idle
# machine and 19-23 ms while 3 GiB were written back, though the server's
# own latency histogram had no slow answer (docs/BENCHMARKS.md). Whichever
# registry ran first took that. Flushed first, the rows below measure the
# registries.
sync
for c in 1 16 64; do
  auth_p=(-H "Authorization: Bearer $(token)")
  p_ticks=$(cpu_ticks $P_PID)
  p_out=$(wrk_run $c "http://127.0.0.1:$P_PORT$manifest_path" "${auth_p[@]}" "${accept[@]}")
  p_ticks=$(( $(cpu_ticks $P_PID) - p_ticks )); d_ticks=$(cpu_ticks $D_PID)
  d_out=$(wrk_run $c "http://127.0.0.1:$D_PORT$manifest_path" "${accept[@]}")
  d_ticks=$(( $(cpu_ticks $D_PID) - d_ticks ))
  row "manifest GET req/s, $c connections" "$(rate <<<"$p_out")" "$(rate <<<"$d_out")"
  row "manifest GET p99 ms, $c connections" "$(p99 <<<"$p_out")" "$(p99 <<<"$d_out")"
  done_p=$(awk '/requests in/ { print $1 }' <<<"$p_out"); done_d=$(awk '/requests in/ { print $1 }' <<<"$d_out")
  row "server CPU µs per manifest GET, $c conns" "$(per_request_us $p_ticks "$done_p")" "$(per_request_us $d_ticks "$done_d")"
done
# wrk cannot send HEAD (it waits for the body the headers announce); ab -i can.
# Prints "requests/s completed-requests" for a HEAD run.
ab_rate() { # url, ab args...
  local url=$1; shift
  local out; out=$(ab -i -q -k -c 16 -t "$WRK_SECONDS" -n 10000000 "$@" "$url" 2>&1)
  if ! grep -q "^Non-2xx responses" <<<"$out" && grep -q "^Failed requests:        0" <<<"$out"; then
    echo "$(awk '/^Requests per second/ { print $4 }' <<<"$out") $(awk '/^Complete requests/ { print $3 }' <<<"$out")"
  else
    echo "bench: ab saw errors:" >&2; echo "$out" >&2; echo "0 1"
  fi
}
p_ticks=$(cpu_ticks $P_PID)
read -r p_rate p_done < <(ab_rate "http://127.0.0.1:$P_PORT/v2/bench/app/blobs/$blob_digest" -H "Authorization: Bearer $(token)")
p_ticks=$(( $(cpu_ticks $P_PID) - p_ticks )); d_ticks=$(cpu_ticks $D_PID)
read -r d_rate d_done < <(ab_rate "http://127.0.0.1:$D_PORT/v2/bench/app/blobs/$blob_digest")
d_ticks=$(( $(cpu_ticks $D_PID) - d_ticks ))
row "HEAD blob req/s, 16 connections" "$p_rate" "$d_rate"
row "server CPU µs per blob HEAD, 16 conns" "$(per_request_us $p_ticks "$p_done")" "$(per_request_us $d_ticks "$d_done")"

printf '%-44s %14s %14s %8s\n' "measurement" "portcullis" "distribution" "ratio"
printf '%s\n' "${rows[@]}"
