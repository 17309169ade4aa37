#!/usr/bin/env bash
# Installs whatever the build (`setup.sh run`) or the tests (`setup.sh test`)
# need and is missing. Idempotent: a second run checks and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
CARGO_LEPTOS_VERSION=0.3.10
# /usr/sbin: dockerd, for users whose PATH lacks it.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH:/usr/sbin:/sbin"

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages, by the command each provides.
apt_wanted=()
want() { command -v "$1" >/dev/null 2>&1 || apt_wanted+=("$2"); }
want node nodejs
want npm npm
want cc gcc
want pkg-config pkg-config
if [ "$mode" = test ]; then
  want chromium chromium
  want chromedriver chromium-driver
  want skopeo skopeo
  want podman podman
  # Docker Engine: the docker CLI, dockerd, and containerd with its ctr
  # (a dependency of docker.io). A docker CLI alone (a static binary, say)
  # is not enough: the tests start their own dockerd.
  want docker docker.io
  want dockerd docker.io
  want ctr containerd
  want buildah buildah
  want umoci umoci
  want curl curl
  want jq jq
  want openssl openssl
  want python3 python3
  want pip3 python3-pip
fi
if [ ${#apt_wanted[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_wanted[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_wanted[@]}" >/dev/null
fi

# PostgreSQL for the integration tests' second run (scripts/postgres.sh).
if [ "$mode" = test ]; then
  scripts/postgres.sh install
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.11 does not build on current rustc; 0.3.10 does.
if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  # Its own release profile asks for fat LTO with one codegen unit, which
  # spends most of the install in one single-threaded link; the tool's own
  # speed hardly matters to a build (it drives rustc, wasm-bindgen and
  # wasm-opt), so the install uses cargo's ordinary release settings.
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes about 17 minutes once)"
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wasm_bindgen_version\$"; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version"
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo install wasm-bindgen-cli --version "=$wasm_bindgen_version" --force
fi

# Tailwind and wasm-opt for cargo-leptos, playwright-core for browser tests.
# (`npm ci` fails on this kind of machine; `npm install` honours the lock.)
if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] \
  || [ ! -d node_modules/playwright-core ] || [ package.json -nt node_modules/.installed ] \
  || [ package-lock.json -nt node_modules/.installed ]; then
  say "installing npm packages"
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.installed
fi
# oras-py (the oras client from PyPI) drives the artifact/referrer tests.
if [ "$mode" = test ] && ! python3 -c 'import oras.client' 2>/dev/null; then
  say "installing oras from pip"
  python3 -m pip install --quiet oras==0.2.43 \
    || python3 -m pip install --quiet --break-system-packages oras==0.2.43
fi

# schemathesis (`st`) checks the management API against its OpenAPI document
# (server/tests/it/schemathesis.rs).
if [ "$mode" = test ] && ! st --version 2>/dev/null | grep -q 'version 4.32.5$'; then
  say "installing schemathesis from pip"
  python3 -m pip install --quiet schemathesis==4.32.5 \
    || python3 -m pip install --quiet --break-system-packages schemathesis==4.32.5
fi
# Garage, the S3-compatible server the S3 blob store is tested against
# (server/src/storage/s3.rs, server/tests/it/s3.rs); scripts/garage.sh
# installs it only when `garage --version` is not the pinned one.
if [ "$mode" = test ]; then
  scripts/garage.sh install
fi
say "ready ($mode)"
