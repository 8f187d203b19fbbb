#!/usr/bin/env bash
# Runs every fuzz target of a build made with ORDERFLOW_FUZZ=ON for a bounded
# time each, from the corpus kept in tests/fuzz/corpus/<target>.
#
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS_PER_TARGET
#
# By default the corpus is copied, so a run leaves the checkout as it was;
# FUZZ_KEEP=1 fuzzes the kept corpus itself, which then keeps what libFuzzer
# found (commit it). A crash, leak or failed property is written to
# tests/fuzz/crashes/<target>/ (commit it too: ctest replays it from then
# on) and ends the run with status 1. The figures for the note: executions
# per second and in all, per target.
set -euo pipefail
build=$1
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LSAN_OPTIONS=suppressions=$here/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
total=0
printf '%-15s %12s %12s %8s\n' target executions "per second" crashes
for target in connectors order_decoder lsp fmt checker engines; do
  corpus=$here/corpus/$target
  if [ "${FUZZ_KEEP:-0}" != 1 ]; then
    cp -r "$corpus" "$work/$target"
    corpus=$work/$target
  fi
  crashes=$here/crashes/$target
  mkdir -p "$crashes"
  before=$(ls "$crashes" | wc -l)
  log=$work/$target.log
  dict=()
  case $target in connectors|order_decoder|lsp) dict=(-dict="$here/json.dict") ;; esac
  if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 "${dict[@]}" \
      -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    status=1
    grep -E "ERROR|SUMMARY|fuzz property|runtime error" "$log" | head -5 >&2 || true
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  found=$(( $(ls "$crashes" | wc -l) - before ))
  total=$(( total + ${runs:-0} ))
  printf '%-15s %12s %12s %8s\n' "$target" "${runs:-?}" "${rate:-?}" "$found"
done
printf '%-15s %12s\n' "all" "$total"
exit $status
