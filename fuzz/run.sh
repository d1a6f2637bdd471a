#!/usr/bin/env bash
# Fuzzes every target for SECONDS each, one after the other, and exits
# non-zero if any of them crashed (a panic, a broken invariant, a timeout or
# running out of memory). Needs cargo-fuzz (`cargo install cargo-fuzz --locked`)
# and a C++ compiler; runs on the stable toolchain.
#
#   fuzz/run.sh SECONDS
#
# Before fuzzing, each target replays its seeds (fuzz/seed.sh rebuilds them
# from the shipped files) and the inputs that once crashed it
# (fuzz/regressions/<target>/). What fuzzing finds is kept in
# fuzz/corpus/<target>/; a crashing input lands in fuzz/artifacts/<target>/,
# and the target's whole log in fuzz/artifacts/<target>.log.
#
# SANITIZER=none builds without AddressSanitizer (faster, catches less).
set -euo pipefail

seconds=${1:?usage: fuzz/run.sh SECONDS}
sanitizer=${SANITIZER:-address}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# cargo-fuzz passes nightly flags (-Zsanitizer, the coverage passes); this
# lets the stable compiler take them.
export RUSTC_BOOTSTRAP=1

fuzz/seed.sh
cargo fuzz build --sanitizer "$sanitizer"

failed=0
for target in $(cargo fuzz list); do
  log=fuzz/artifacts/$target.log
  mkdir -p "fuzz/artifacts/$target"
  corpora=("fuzz/corpus/$target")
  if [[ -d fuzz/regressions/$target ]]; then
    corpora+=("fuzz/regressions/$target")
  fi
  # -timeout: one input taking this long is a hang, reported as a crash.
  if cargo fuzz run --sanitizer "$sanitizer" "$target" "${corpora[@]}" -- \
    -max_total_time="$seconds" -timeout=30 -print_final_stats=1 >"$log" 2>&1; then
    verdict=ok
  else
    verdict="CRASHED (see $log and fuzz/artifacts/$target/)"
    failed=1
  fi
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$target: ${executions:-no} executions in ${seconds}s: $verdict"
done
exit $failed
