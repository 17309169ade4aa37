#!/usr/bin/env bash
# `make fuzz`: runs every fuzz target of fuzz/ (docs/FUZZING.md) for
# FUZZ_SECONDS each (default 60), starting from the seeds in
# fuzz/corpus/<target>/ and the corpus earlier runs grew in
# fuzz/corpus-run/<target>/ (not in git). Installs cargo-fuzz and the
# nightly toolchain when missing. Exits non-zero when any target found a
# crash, a panic, a timeout or an allocation past the limit; the input is
# then in fuzz/artifacts/<target>/.
#
#   make fuzz                                  # every target, 60 s each
#   FUZZ_SECONDS=600 make fuzz                 # longer
#   make fuzz FUZZ_TARGETS="manifest condition" # some targets
#   FUZZ_TARGET_DIR=/elsewhere make fuzz       # where the instrumented build goes
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

seconds=${FUZZ_SECONDS:-60}
target_dir=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}
# The largest input each target is given: past every limit the parser
# enforces (names 255, tags 128, conditions 8 KiB), around the size of
# real inputs for the rest (manifests are usually 1-10 KiB).
declare -A max_len=(
  [manifest]=16384
  [repository_name]=512
  [reference]=512
  [route]=1024
  [api_path]=1024
  [scope]=4096
  [challenge]=2048
  [credentials]=1024
  [bearer_token]=4096
  [range]=512
  [repository_pattern]=2048
  [condition]=9000
  [access_file]=8192
)
all_targets="manifest repository_name reference route api_path scope challenge credentials bearer_token range repository_pattern condition access_file"
targets=${FUZZ_TARGETS:-$all_targets}

say() { printf '[fuzz] %s\n' "$*"; }

if ! rustup toolchain list | grep -q '^nightly'; then
  say "installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal || exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi

say "building the targets (release, debug assertions, AddressSanitizer)"
cargo +nightly fuzz build --target-dir "$target_dir" || exit 1

mkdir -p fuzz/logs
failed=()
for target in $targets; do
  len=${max_len[$target]:-4096}
  mkdir -p "fuzz/corpus-run/$target" "fuzz/artifacts/$target"
  log="fuzz/logs/$target.log"
  say "$target: ${seconds}s, -max_len=$len"
  # The first directory receives what the run finds; the seeds are read only.
  # -rss_limit_mb also bounds any single allocation (malloc_limit_mb
  # defaults to it): a parser that allocates without bound is a finding.
  cargo +nightly fuzz run --target-dir "$target_dir" "$target" \
    "fuzz/corpus-run/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$len" -rss_limit_mb=512 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    say "$target: FAILED (exit $status); see $log and fuzz/artifacts/$target/"
    grep -m1 -E "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer" "$log" || true
  else
    say "$target: ok, ${runs:-?} executions, ${corpus:-corp: ?}"
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  say "targets with findings: ${failed[*]}"
  exit 1
fi
say "no findings"
