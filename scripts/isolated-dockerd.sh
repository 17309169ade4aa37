#!/usr/bin/env bash
# Runs a private Docker Engine (dockerd and the containerd it starts) whose
# every file lives in DIR, until this script's standard input closes; then
# stops the engine and removes DIR. The Docker and containerd tests
# (server/tests/it/docker.rs) start it once per test binary and hold its
# stdin open, so the engine goes away with the tests however they end.
#
# By hand:  scripts/isolated-dockerd.sh /tmp/pd      (Ctrl-D stops it)
#   export DOCKER_HOST=unix:///tmp/pd/docker.sock
#   ctr --address /tmp/pd/exec/containerd/containerd.sock ...
#
# Nothing is shared with a system engine: its own socket, data and exec
# roots and pid file. No bridge and no iptables rules: pushing and pulling
# need no container networking, and this works where they cannot be set
# up. Keep DIR short: unix socket paths are limited to about 108 bytes.
# Logs (with --debug) go to DIR/dockerd.log.
set -euo pipefail

dir=${1:?usage: isolated-dockerd.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export PATH="$PATH:/usr/sbin:/sbin"

# Keep stdin for the watcher: a background job's stdin is /dev/null.
exec 3<&0 </dev/null

dockerd --debug \
  --host "unix://$dir/docker.sock" \
  --data-root "$dir/data" \
  --exec-root "$dir/exec" \
  --pidfile "$dir/docker.pid" \
  --bridge=none --iptables=false --ip6tables=false \
  >"$dir/dockerd.log" 2>&1 3<&- &
engine=$!

# Stdin closed (or the holder died): stop the engine.
(
  cat <&3 >/dev/null || true
  kill -TERM "$engine" 2>/dev/null || true
) &
watcher=$!
exec 3<&-

status=0
wait "$engine" || status=$?
kill "$watcher" 2>/dev/null || true
if [ "$status" -ne 0 ] && [ "$status" -ne 143 ]; then
  # Kept for whoever started it: the log says why.
  echo "dockerd exited with status $status; see $dir/dockerd.log" >&2
  exit "$status"
fi
# The engine unmounts its layers when it stops; anything still mounted
# (a crash) is left rather than removed through.
if grep -q " $dir/" /proc/mounts; then
  echo "left $dir: something in it is still mounted" >&2
  exit 1
fi
rm -rf "$dir"
