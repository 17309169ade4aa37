#!/usr/bin/env bash
# The push path, Portcullis against CNCF Distribution 2.8 (Debian's
# docker-registry) in one run: skopeo push of a one-layer image and a curl
# monolithic blob upload, each timed with the server's CPU (from /proc), the
# client's CPU and every other process's CPU on the machine, then each
# server's peak RSS. RUNS rounds, each on fresh data directories and fresh
# random content; the order of the two registries alternates between rounds.
# Prints every round, then the medians.
#
#   bench/push.sh                                  # 3 rounds, 512 MiB layer, 1 GiB blob
#   RUNS=5 LAYER_MIB=256 bench/push.sh
#   PORTCULLIS_BIN=/path/to/portcullis bench/push.sh   # measure another build
#   QUICK=1 bench/push.sh                          # small sizes, one round: checks the script
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=portcullis

for tool in skopeo curl docker-registry jq awk sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install skopeo curl docker-registry jq)" >&2; exit 1; }
done

RUNS=${RUNS:-3}
LAYER_MIB=${LAYER_MIB:-512}
BLOB_MIB=${BLOB_MIB:-1024}
if [ -n "${QUICK:-}" ]; then RUNS=1; LAYER_MIB=16; BLOB_MIB=32; fi

if [ -z "${PORTCULLIS_BIN:-}" ]; then
  cargo build --release -p server --bin portcullis >&2
  PORTCULLIS_BIN="${CARGO_TARGET_DIR:-target}/release/portcullis"
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/portcullis-push-bench.XXXXXX")
pids=()
stop_servers() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; pids=(); }
trap 'stop_servers; rm -rf "$work"' EXIT

PASSWORD=bench-admin-password
P_PORT=5111
D_PORT=5112
TICK=$(getconf CLK_TCK)

# Fresh data directories and freshly started servers; sets P_PID and D_PID.
start_servers() {
  rm -rf "$work/portcullis" "$work/distribution"
  PORTCULLIS_ADMIN_PASSWORD=$PASSWORD PORTCULLIS_LOG=warn PORTCULLIS_RATE_LIMIT_READS=0 PORTCULLIS_RATE_LIMIT_WRITES=0 "$PORTCULLIS_BIN" serve \
    --listen 127.0.0.1:$P_PORT --data-dir "$work/portcullis" >>"$work/portcullis.log" 2>&1 &
  P_PID=$!; pids+=("$P_PID")
  cat >"$work/distribution.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $work/distribution }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$D_PORT }
YAML
  docker-registry serve "$work/distribution.yml" >>"$work/distribution.log" 2>&1 &
  D_PID=$!; pids+=("$D_PID")
  for port in $P_PORT $D_PORT; do
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" || {
      echo "bench: nothing answers on port $port" >&2; tail -5 "$work/portcullis.log" "$work/distribution.log" >&2; exit 1
    }
  done
}

# CPU seconds (user + system) a process has used so far.
cpu_of() { awk -v tick="$TICK" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / tick }' "/proc/$1/stat"; }
# CPU seconds every process on the machine has used so far (not idle, not iowait).
cpu_all() { awk -v tick="$TICK" '/^cpu / { printf "%.3f", ($2 + $3 + $4 + $7 + $8) / tick }' /proc/stat; }
peak_rss() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# Runs a command against the registry served by process $1 and prints
# "wall server_cpu client_cpu other_cpu" in seconds; a failing command
# stops the benchmark.
measure() {
  local server=$1; shift
  local server_before all_before start end client
  sync
  server_before=$(cpu_of "$server"); all_before=$(cpu_all)
  start=$(date +%s.%N)
  local rc=0 TIMEFORMAT='%U %S'
  { time "$@" >"$work/last.log" 2>&1; } 2>"$work/client-cpu" || rc=$?
  end=$(date +%s.%N)
  if [ "$rc" != 0 ]; then echo "bench: failed: $*" >&2; cat "$work/last.log" >&2; exit 1; fi
  client=$(awk '{ printf "%.3f", $1 + $2 }' "$work/client-cpu")
  awk -v s="$start" -v e="$end" -v sb="$server_before" -v sa="$(cpu_of "$server")" \
      -v ab="$all_before" -v aa="$(cpu_all)" -v c="$client" \
      'BEGIN { other = (aa - ab) - (sa - sb) - c; if (other < 0) other = 0;
               printf "%.3f %.3f %.3f %.3f", e - s, sa - sb, c, other }'
}

skopeo_push() { # port, creds...
  local port=$1; shift
  skopeo copy --dest-tls-verify=false --preserve-digests "$@" "oci:$work/layout:v1" "docker://127.0.0.1:$port/bench/app:v1"
}

# The monolithic upload every registry supports: POST a session, PUT the
# whole blob to it with ?digest= (Distribution 2.8 ignores a single POST's
# body). Fails unless the PUT answers 201.
curl_put() { # base URL, curl auth args...
  local base=$1; shift
  local location status
  location=$(curl -sf -D - -o /dev/null -X POST "$@" "$base/v2/bench/app/blobs/uploads/" | awk 'tolower($1) == "location:" { print $2 }' | tr -d '\r')
  case "$location" in http*) ;; *) location="$base$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$blob_digest" ;; *) location="$location?digest=$blob_digest" ;; esac
  status=$(curl -s -o /dev/null -w '%{http_code}' -T "$work/blob" -H 'Content-Type: application/octet-stream' "$@" "$location")
  [ "$status" = 201 ] || { echo "PUT answered $status" >&2; return 1; }
}

token() {
  curl -sf -u "admin:$PASSWORD" "http://127.0.0.1:$P_PORT/oauth2/token?service=127.0.0.1:$P_PORT&scope=repository:bench/app:pull,push" | jq -r .token
}

echo "bench: portcullis $PORTCULLIS_BIN; $RUNS rounds; layer $LAYER_MIB MiB, blob $BLOB_MIB MiB" >&2
results="$work/results"
: >"$results"
for run in $(seq "$RUNS"); do
  start_servers
  make_layout "$work/layout" "$LAYER_MIB" "$work"
  head -c $((BLOB_MIB * 1024 * 1024)) /dev/urandom >"$work/blob"
  blob_digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"
  if [ $((run % 2)) = 1 ]; then order="p d"; else order="d p"; fi
  for who in $order; do
    if [ "$who" = p ]; then
      push=$(measure "$P_PID" skopeo_push $P_PORT --dest-creds "admin:$PASSWORD")
      put=$(measure "$P_PID" curl_put "http://127.0.0.1:$P_PORT" -H "Authorization: Bearer $(token)")
      rss=$(peak_rss "$P_PID")
    else
      push=$(measure "$D_PID" skopeo_push $D_PORT)
      put=$(measure "$D_PID" curl_put "http://127.0.0.1:$D_PORT")
      rss=$(peak_rss "$D_PID")
    fi
    # who run | push: wall server client other | put: wall server client other | rss
    echo "$who $run $push $put $rss" >>"$results"
  done
  stop_servers
done

awk -v layer="$LAYER_MIB" -v blob="$BLOB_MIB" '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function add(key, value) { values[key] = values[key] (values[key] == "" ? "" : " ") value }
  {
    who = $1
    printf "round %s %-12s push %6.2f s (server %5.2f, client %5.2f, other %5.2f CPU-s) | PUT %6.2f s %7.0f MB/s (server %5.2f, client %5.2f, other %5.2f CPU-s) | peak RSS %6.1f MiB\n", \
      $2, (who == "p" ? "portcullis" : "distribution"), $3, $4, $5, $6, $7, blob * 1048576 / $7 / 1e6, $8, $9, $10, $11
    add(who "push", $3); add(who "pushcpu", $4); add(who "pushother", $6)
    add(who "put", $7); add(who "putmbs", blob * 1048576 / $7 / 1e6); add(who "putcpu", $8); add(who "putother", $10)
    add(who "rss", $11)
  }
  END {
    printf "\n%-46s %12s %12s %8s\n", "median of " NR / 2 " rounds", "portcullis", "distribution", "P/D"
    split("push pushcpu pushother put putmbs putcpu putother rss", keys, " ")
    label["push"] = "skopeo push " layer " MiB, wall (s)"
    label["pushcpu"] = "skopeo push, server CPU (s)"
    label["pushother"] = "skopeo push, other processes CPU (s)"
    label["put"] = "curl PUT " blob " MiB, wall (s)"
    label["putmbs"] = "curl PUT " blob " MiB (MB/s)"
    label["putcpu"] = "curl PUT, server CPU (s)"
    label["putother"] = "curl PUT, other processes CPU (s)"
    label["rss"] = "peak RSS after both (MiB, VmHWM)"
    for (k = 1; k <= 8; k++) {
      key = keys[k]; p = median(values["p" key]); d = median(values["d" key])
      printf "%-46s %12.2f %12.2f %8s\n", label[key], p, d, (d > 0 ? sprintf("%.2f", p / d) : "-")
    }
    p = median(values["ppushcpu"]); d = median(values["dpushcpu"])
    printf "%-46s %12.2f %12.2f\n", "server CPU per pushed GiB, skopeo (s)", p * 1024 / layer, d * 1024 / layer
    p = median(values["pputcpu"]); d = median(values["dputcpu"])
    printf "%-46s %12.2f %12.2f\n", "server CPU per pushed GiB, curl PUT (s)", p * 1024 / blob, d * 1024 / blob
  }' "$results"
