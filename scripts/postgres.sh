#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 15):
#
#   scripts/postgres.sh install     Debian's postgresql, when it is missing
#   scripts/postgres.sh start DIR   a cluster in DIR (created once) on a free
#                                   127.0.0.1 port; prints its admin URL.
#                                   Reuses the cluster when it already runs.
#   scripts/postgres.sh stop DIR    stops it (the files stay in DIR)
#
# initdb refuses to run as root, so as root the cluster belongs to the
# `postgres` user that the Debian package creates. Connections over TCP
# need the password kept in DIR/password (scram-sha-256); the unix socket
# lives in DIR/socket, never in /var/run.
set -euo pipefail

say() { printf '[postgres] %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The newest installed server's programs.
bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] || return 1
  printf '%s\n' "$dir"
}

# Runs a command as the cluster's owner: `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_dir() {
  [ -n "${1:-}" ] || fail "usage: $0 start|stop DIR"
  mkdir -p "$1"
  (cd "$1" && pwd)
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
  local dir=$1
  printf 'postgres://postgres:%s@127.0.0.1:%s/postgres\n' "$(cat "$dir/password")" "$(cat "$dir/port")"
}

case "${1:-}" in
  install)
    if ! bin_dir >/dev/null; then
      say "installing Debian's postgresql"
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    fi
    ;;
  start)
    bin=$(bin_dir) || fail "PostgreSQL is not installed: run scripts/setup.sh test (or $0 install)"
    dir=$(cluster_dir "${2:-}")
    if [ "$(id -u)" -eq 0 ]; then
      id postgres >/dev/null 2>&1 || fail "no postgres user to own the cluster: run scripts/setup.sh test"
      chown postgres: "$dir"
      runuser -u postgres -- test -w "$dir" \
        || fail "the postgres user cannot write $dir (a parent directory closed to it?)"
    fi
    if [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
      url "$dir"
      exit 0
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner rm -rf "$dir/data"
      (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$dir/password")
      [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/password"
      # C collation: text orders by bytes, as SQLite's BINARY does.
      as_owner "$bin/initdb" -D "$dir/data" --username=postgres --pwfile="$dir/password" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; fail "initdb failed"; }
    fi
    as_owner mkdir -p "$dir/socket"
    free_port >"$dir/port"
    # A throwaway cluster: durability is not wanted, speed is.
    as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $(cat "$dir/port") -h 127.0.0.1 -k $dir/socket -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null || { tail -n 20 "$dir/postgres.log" >&2; fail "the cluster in $dir did not start"; }
    url "$dir"
    ;;
  stop)
    bin=$(bin_dir) || exit 0
    dir=$(cluster_dir "${2:-}")
    if [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w >/dev/null
    fi
    ;;
  *)
    fail "usage: $0 install | start DIR | stop DIR"
    ;;
esac
