#!/usr/bin/env bash
# Garage (https://garagehq.deuxfleurs.fr), a real S3-compatible server, for
# the S3 blob store's tests and for trying several replicas on one machine.
#
#   scripts/garage.sh install     cargo install garage 2.5.0, unless present
#   scripts/garage.sh start DIR   a one-node Garage with its files in DIR;
#                                 prints shell lines to `eval`:
#                                 PORTCULLIS_STORAGE, PORTCULLIS_S3_ENDPOINT,
#                                 PORTCULLIS_S3_REGION, AWS_ACCESS_KEY_ID,
#                                 AWS_SECRET_ACCESS_KEY
#   scripts/garage.sh stop DIR    stops the Garage of DIR
#
# `start` is idempotent: a Garage of DIR that is running and answers is
# reused (its lines printed again). Otherwise DIR's Garage files are wiped
# and a new node is set up: its metadata in SQLite, replication factor 1,
# a random RPC secret, RPC, S3 and admin APIs on spare 127.0.0.1 ports, one
# bucket and one key allowed to read and write it.
set -euo pipefail

GARAGE_VERSION=2.5.0
BUCKET=portcullis
REGION=garage
export PATH="$HOME/.cargo/bin:$PATH"
# These machines point AWS_CA_BUNDLE at the system store for every process;
# nothing here talks TLS, and Garage needs no AWS settings.
unset AWS_CA_BUNDLE

say() { printf '[garage] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

installed() { garage --version 2>/dev/null | grep -q "v\?$GARAGE_VERSION\b"; }

install() {
  installed && return
  # Only what a one-node test server uses: SQLite metadata (bundled), no
  # LMDB, no Prometheus metrics, no K2V API; fewer crates to compile.
  say "installing garage $GARAGE_VERSION with cargo (takes about 13 minutes once)"
  cargo install garage --version "$GARAGE_VERSION" --locked \
    --no-default-features --features bundled-libs,sqlite
}

spare_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs the garage CLI against DIR's node.
cli() { garage -c "$dir/garage.toml" "$@"; }

running() {
  [ -f "$dir/garage.pid" ] && kill -0 "$(cat "$dir/garage.pid")" 2>/dev/null
}

# Running, and both the RPC side (`status`) and the S3 API answer.
healthy() {
  running && [ -f "$dir/env" ] && cli status >/dev/null 2>&1 \
    && curl -s -o /dev/null --max-time 5 "$(sed -n 's/^export PORTCULLIS_S3_ENDPOINT=//p' "$dir/env")"
}

stop() {
  if running; then
    local pid
    pid=$(cat "$dir/garage.pid")
    kill "$pid"
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "stopped the Garage of $dir"
  fi
  rm -f "$dir/garage.pid"
}

start() {
  installed || die "garage $GARAGE_VERSION is not installed: run scripts/setup.sh test (or scripts/garage.sh install)"
  if healthy; then
    cat "$dir/env"
    return
  fi
  stop
  rm -rf "$dir/meta" "$dir/data" "$dir/garage.toml" "$dir/env" "$dir/garage.log"
  mkdir -p "$dir/meta" "$dir/data"
  local rpc_port s3_port admin_port
  rpc_port=$(spare_port)
  s3_port=$(spare_port)
  admin_port=$(spare_port)
  (
    umask 077
    cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
admin_token = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EOF
  )
  # Its own session, no inherited output and not the lock, so whoever ran
  # this script (a test reading its output, the next start) is not kept
  # waiting by the server.
  setsid garage -c "$dir/garage.toml" server </dev/null >"$dir/garage.log" 2>&1 9>&- &
  echo $! >"$dir/garage.pid"

  local node=""
  for _ in $(seq 300); do
    running || die "garage server exited; see $dir/garage.log"
    node=$(cli status 2>/dev/null | grep -oE '^[0-9a-f]{16}' | head -n 1) && [ -n "$node" ] && break
    sleep 0.1
  done
  [ -n "$node" ] || die "garage did not come up in 30 s; see $dir/garage.log"
  cli layout assign -z dc1 -c 1G "$node" >/dev/null
  cli layout apply --version 1 >/dev/null
  cli bucket create "$BUCKET" >/dev/null
  local key
  key=$(cli key create portcullis-key)
  local key_id secret
  key_id=$(awk -F': *' '/^Key ID:/ { print $2; exit }' <<<"$key")
  secret=$(awk -F': *' '/^Secret key:/ { print $2; exit }' <<<"$key")
  [ -n "$key_id" ] && [ -n "$secret" ] || die "could not read the key garage created"
  cli bucket allow --read --write --owner "$BUCKET" --key portcullis-key >/dev/null

  (
    umask 077
    cat >"$dir/env" <<EOF
export PORTCULLIS_STORAGE=s3://$BUCKET
export PORTCULLIS_S3_ENDPOINT=http://127.0.0.1:$s3_port
export PORTCULLIS_S3_REGION=$REGION
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$secret
EOF
  )
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$s3_port" && break
    sleep 0.1
  done
  say "Garage of $dir serves S3 on 127.0.0.1:$s3_port (bucket $BUCKET, region $REGION)"
  cat "$dir/env"
}

command=${1:-}
case "$command" in
  install)
    install
    ;;
  start | stop)
    [ $# -eq 2 ] || die "usage: $0 $command DIR"
    mkdir -p "$2"
    dir=$(cd "$2" && pwd)
    # One start or stop of DIR at a time (test binaries may race).
    exec 9>"$dir/.lock"
    flock 9
    "$command"
    ;;
  *)
    die "usage: $0 install | start DIR | stop DIR"
    ;;
esac
