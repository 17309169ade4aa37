#!/usr/bin/env bash
# Token logins with ten tokens in the database, then with a million: the
# token endpoint (GET /oauth2/token, HTTP Basic with a token's name and
# password) under wrk at 16 connections, rotating over ten real tokens
# made through the management API. Between the two runs the server is
# stopped and ~1,000,000 filler tokens are inserted straight into its
# SQLite file in one transaction. Also times one page of the token list
# and a name search through the API, at both sizes, and (with ten tokens)
# the same logins by ten service principals with client secrets.
#
#   bench/tokens.sh            # full run: 1,000,000 filler tokens, 20 s per run
#   QUICK=1 bench/tokens.sh    # 10,000 filler tokens, 5 s runs, to check the script
#
# Uses ${CARGO_TARGET_DIR:-target}/release/portcullis (built if missing).
# Every answer is checked: a login answered with anything but 200 and an
# access token, a socket error, or an API call not answering 200 with the
# expected page stops the run. Also printed: CPU of the server, of wrk and
# of every other process during each run (from /proc), and how many of the
# logins' audit entries were on disk when each phase's server stopped.
# Tunables: FILLER, WRK_SECONDS, WARMUP_SECONDS, CONNECTIONS, PORT, and
# KEEP=1 to keep the temporary data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" LEPTOS_OUTPUT_NAME=portcullis

missing=()
for tool in wrk curl jq sqlite3 bc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y "${missing[@]}" >&2
  else
    echo "bench: missing ${missing[*]} (apt-get install wrk curl jq sqlite3 bc)" >&2; exit 1
  fi
fi

FILLER=${FILLER:-1000000}
WRK_SECONDS=${WRK_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
CONNECTIONS=${CONNECTIONS:-16}
REAL_TOKENS=10
if [ -n "${QUICK:-}" ]; then FILLER=10000; WRK_SECONDS=5; WARMUP_SECONDS=1; fi

BIN="${CARGO_TARGET_DIR:-target}/release/portcullis"
if [ ! -x "$BIN" ]; then cargo build --release -p server --bin portcullis >&2; fi
echo "bench: $BIN, built $(date -r "$BIN" '+%F %T'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes')" >&2

work=$(mktemp -d "${TMPDIR:-/var/tmp}/portcullis-tokens.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

PASSWORD=bench-admin-password
PORT=${PORT:-5103}
BASE="http://127.0.0.1:$PORT"
DB="$work/data/portcullis.db"
REPO=bench/app

start_server() {
  PORTCULLIS_ADMIN_PASSWORD=$PASSWORD PORTCULLIS_LOG=warn PORTCULLIS_RATE_LIMIT_READS=0 PORTCULLIS_RATE_LIMIT_WRITES=0 "$BIN" serve \
    --listen "127.0.0.1:$PORT" --data-dir "$work/data" >>"$work/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "$BASE/v2/" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}
fail() { echo "bench: $*" >&2; exit 1; }

# A management call as the administrator; stops the run unless it answers `expect`.
api() { # expect, method, path, [json body]
  local expect=$1 method=$2 path=$3 body=${4:-} status
  local args=(-s -o "$work/api.json" -w '%{http_code}' -u "admin:$PASSWORD" -X "$method")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
  status=$(curl "${args[@]}" "$BASE$path")
  [ "$status" = "$expect" ] || fail "$method $path answered $status, not $expect: $(cat "$work/api.json")"
  cat "$work/api.json"
}

start_server

# One user-defined scope map (pull on the benchmark repository) shared by
# the real tokens and, later, by every filler token.
api 201 POST /api/v1/scope-maps \
  "{\"name\":\"bench-pull\",\"repositories\":[{\"repository\":\"$REPO\",\"actions\":[\"content/read\"]}]}" >/dev/null
creds=()
for i in $(seq -w 1 $REAL_TOKENS); do
  name="bench-login-$i"
  password=$(api 201 POST /api/v1/tokens "{\"name\":\"$name\",\"scopeMap\":\"bench-pull\"}" \
    | jq -er '.credentials.passwords[0].value')
  creds+=("$(printf '%s:%s' "$name" "$password" | base64 -w0)")
done

login_path="/oauth2/token?service=127.0.0.1:$PORT&scope=repository:$REPO:pull"
# One login by hand: 200 and an access token granting pull.
answer=$(curl -sf -H "Authorization: Basic ${creds[0]}" "$BASE$login_path") || fail "a login failed"
jq -e '.token | length > 0' <<<"$answer" >/dev/null || fail "no access token in $answer"

# wrk: each thread rotates over the given Basic credentials and checks
# every answer (200 with an access token); done() prints the figures.
write_lua() { # file, base64 credentials...
  local file=$1; shift
{
  echo 'local creds = {'
  for c in "$@"; do echo "  \"Basic $c\","; done
  echo '}'
  cat <<LUA
local path = "$login_path"
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = id
  bad = 0
  first_bad = ""
end
function request()
  counter = counter + 1
  return wrk.format("GET", path, { ["Authorization"] = creds[counter % #creds + 1] })
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"token":"', 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body, 1, 200) end
  end
end
function done(summary, latency, requests)
  local bad, first = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad")
    if first == "" then first = thread:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format("bench-result requests=%d seconds=%.3f rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f bad=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, e.connect + e.read + e.write + e.timeout))
  if first ~= "" then io.write("bench-first-bad " .. first .. "\n") end
end
LUA
} >"$file"
}
write_lua "$work/logins.lua" "${creds[@]}"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# CPU ticks of the waited-for children of process $1 (wrk, once it ended).
children_ticks() { awk '{ print $16 + $17 }' "/proc/$1/stat"; }
# Busy ticks of the whole machine (all cores).
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# Runs wrk against the token endpoint after a warm-up run; prints "rate p50
# p99 requests server-cpu wrk-cpu other-cpu" (CPU in % of one core, out of
# $(nproc)00 %: the server, wrk, and every other process on the machine) and
# keeps wrk's output in $work/wrk-<label>.log. Refuses runs with any bad answer.
logins() { # label, [wrk script]
  local label=$1 script=${2:-$work/logins.lua} me=$BASHPID out hz server0 server1 wrk0 wrk1 busy0 busy1 start end
  wrk -t 2 -c "$CONNECTIONS" -d "${WARMUP_SECONDS}s" -s "$script" "$BASE$login_path" >"$work/wrk-$label-warmup.log" 2>&1 \
    || fail "wrk failed: $(cat "$work/wrk-$label-warmup.log")"
  server0=$(cpu_ticks "$SERVER_PID"); wrk0=$(children_ticks "$me"); busy0=$(machine_ticks); start=$(date +%s.%N)
  wrk -t 2 -c "$CONNECTIONS" -d "${WRK_SECONDS}s" --timeout 5s -s "$script" "$BASE$login_path" >"$work/wrk-$label.log" 2>&1 \
    || fail "wrk failed: $(cat "$work/wrk-$label.log")"
  server1=$(cpu_ticks "$SERVER_PID"); wrk1=$(children_ticks "$me"); busy1=$(machine_ticks); end=$(date +%s.%N)
  out=$(grep '^bench-result' "$work/wrk-$label.log") || fail "no result from wrk: $(cat "$work/wrk-$label.log")"
  for log in "$work/wrk-$label-warmup.log" "$work/wrk-$label.log"; do
    if ! grep -q 'bad=0 socket_errors=0' "$log"; then
      echo "bench: wrk saw bad answers or socket errors ($label):" >&2; cat "$log" >&2; exit 1
    fi
  done
  hz=$(getconf CLK_TCK)
  awk -v hz="$hz" -v seconds="$(echo "$end - $start" | bc)" -v server=$((server1 - server0)) \
      -v wrk=$((wrk1 - wrk0)) -v busy=$((busy1 - busy0)) '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    pct = 100 / hz / seconds
    printf "%s %s %s %s %.0f %.0f %.0f\n", v["rate"], v["p50_ms"], v["p99_ms"], v["requests"],
      server * pct, wrk * pct, (busy - server - wrk) * pct
  }' <<<"$out"
}

# Median of five timed API calls (seconds -> ms); each must answer 200 with
# `expect_items` items.
api_ms() { # path, expect_items
  local path=$1 expect=$2 times=() status time items
  curl -s -o /dev/null -u "admin:$PASSWORD" "$BASE$path" # the admin password is then cached (60 s)
  for _ in 1 2 3 4 5; do
    read -r status time < <(curl -s -o "$work/page.json" -w '%{http_code} %{time_total}\n' -u "admin:$PASSWORD" "$BASE$path")
    [ "$status" = 200 ] || fail "GET $path answered $status: $(head -c 300 "$work/page.json")"
    items=$(jq '.items | length' "$work/page.json")
    [ "$items" = "$expect" ] || fail "GET $path gave $items items, not $expect"
    times+=("$time")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk 'NR == 3 { printf "%.2f", $1 * 1000 }'
}

logins_made() { # label
  local by_hand=0; [ "$1" = small ] && by_hand=1
  cat "$work/wrk-$1-warmup.log" "$work/wrk-$1.log" | awk -v n=$by_hand '/^bench-result/ { split($2, kv, "="); n += kv[2] } END { print n }'
}
token_count() { sqlite3 "$DB" 'SELECT COUNT(*) FROM tokens'; }
peak_rss() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# The filler names are device-0000001, device-0000002, ...; the search asks
# for a five-digit prefix near the end (device-09999 for a million), which
# 100 names share.
search_prefix=$(printf 'device-%07d' $((FILLER - 50)) | cut -c1-12)
search_expect=$(( FILLER >= 100 ? 50 : 0 ))

echo "bench: measuring logins with $REAL_TOKENS tokens (${WRK_SECONDS} s, $CONNECTIONS connections)" >&2
result=$(logins small)
read -r rate_small p50_small p99_small req_small cpu_small wrk_small other_small <<<"$result"
# The same with ten service principals, each with a client secret and a
# conditional Repository Reader role (issue 11: no worse than a token's).
sp_creds=()
condition="@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'bench/'"
for i in $(seq -w 1 $REAL_TOKENS); do
  name="bench-sp-$i"
  secret=$(api 201 POST /api/v1/service-principals "{\"name\":\"$name\"}" | jq -er '.secrets[0].value')
  api 201 POST /api/v1/role-assignments "$(jq -nc --arg a "$name" --arg c "$condition" \
    '{assignee: $a, role: "Container Registry Repository Reader", condition: $c}')" >/dev/null
  sp_creds+=("$(printf '%s:%s' "$name" "$secret" | base64 -w0)")
done
write_lua "$work/sp-logins.lua" "${sp_creds[@]}"
echo "bench: measuring logins with $REAL_TOKENS service principals" >&2
result=$(logins sp "$work/sp-logins.lua")
read -r rate_sp p50_sp p99_sp req_sp cpu_sp wrk_sp other_sp <<<"$result"
list_small=$(api_ms "/api/v1/tokens?limit=50" "$REAL_TOKENS")
search_small=$(api_ms "/api/v1/tokens?search=$search_prefix&limit=50" 0)
rss_small=$(peak_rss "$SERVER_PID")
stop_server
small_count=$(token_count)
audit_small=$(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'login'")

echo "bench: inserting $FILLER filler tokens" >&2
insert_start=$(date +%s.%N)
sqlite3 "$DB" <<SQL
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $FILLER)
INSERT INTO tokens (name, scope_map_id, enabled, created_at, p1_digest, p1_created_at, p1_serial)
SELECT printf('device-%07d', i),
       (SELECT id FROM scope_maps WHERE name = 'bench-pull'),
       1,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       randomblob(32),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       (random() & 4611686018427387903) + 1
FROM seq;
COMMIT;
SQL
insert_seconds=$(echo "$(date +%s.%N) - $insert_start" | bc)
large_count=$(token_count)
[ "$large_count" = $((small_count + FILLER)) ] || fail "expected $((small_count + FILLER)) tokens, found $large_count"
db_mib=$(du -m "$DB" | cut -f1)

start_server
echo "bench: measuring logins with $large_count tokens" >&2
result=$(logins large)
read -r rate_large p50_large p99_large req_large cpu_large wrk_large other_large <<<"$result"
list_large=$(api_ms "/api/v1/tokens?limit=50" 50)
search_large=$(api_ms "/api/v1/tokens?search=$search_prefix&limit=50" "$search_expect")
rss_large=$(peak_rss "$SERVER_PID")
stop_server
audit_large=$(( $(sqlite3 "$DB" "SELECT COUNT(*) FROM audit_log WHERE action = 'login'") - audit_small ))

ratio() { if [ "$(echo "$2 == 0" | bc)" = 1 ]; then echo -; else echo "scale=2; $1 / $2" | bc; fi; }
echo "filler insert: $FILLER tokens in $(printf '%.1f' "$insert_seconds") s (one transaction); database $db_mib MiB"
echo "logins: $CONNECTIONS connections, ${WRK_SECONDS} s after ${WARMUP_SECONDS} s warm-up, rotating over $REAL_TOKENS tokens; every answer checked; $(nproc) cores ($(nproc)00 % CPU)"
printf '%-42s %14s %14s %8s\n' "measurement" "$small_count tokens" "$large_count tokens" "large/10"
row() { printf '%-42s %14s %14s %8s\n' "$1" "$2" "$3" "$(ratio "$3" "$2")"; }
row "logins/s" "$rate_small" "$rate_large"
row "login p50 (ms)" "$p50_small" "$p50_large"
row "login p99 (ms)" "$p99_small" "$p99_large"
per_login() { echo "scale=1; $1 * 10000 / $2" | bc; }
row "server CPU per login (us)" "$(per_login "$cpu_small" "$rate_small")" "$(per_login "$cpu_large" "$rate_large")"
row "CPU % of one core: server" "$cpu_small" "$cpu_large"
row "CPU % of one core: wrk" "$wrk_small" "$wrk_large"
row "CPU % of one core: other processes" "$other_small" "$other_large"
row "server peak RSS (MiB)" "$rss_small" "$rss_large"
row "token list, limit=50 (ms, median of 5)" "$list_small" "$list_large"
row "search $search_prefix, limit=50 (ms)" "$search_small" "$search_large"
echo
echo "service principal logins beside token logins (same server, $REAL_TOKENS of each, before the filler):"
printf '%-42s %14s %14s %8s\n' "measurement" "tokens" "service princ." "sp/token"
row "logins/s" "$rate_small" "$rate_sp"
row "login p50 (ms)" "$p50_small" "$p50_sp"
row "login p99 (ms)" "$p99_small" "$p99_sp"
row "server CPU per login (us)" "$(per_login "$cpu_small" "$rate_small")" "$(per_login "$cpu_sp" "$rate_sp")"
echo "audit log: $audit_small login entries on disk at the first stop, $audit_large more at the second; logins made: $(( $(logins_made small) + $(logins_made sp) )) (tokens and service principals), $(logins_made large) (warm-up, run and the one by hand)"
