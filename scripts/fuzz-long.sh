#!/usr/bin/env bash
# Long fuzzing of every FuzzXxx target of the root module (CI runs a short pass with
# scripts/fuzz.sh; this is the long one, for a nightly job or before a release):
#
#   scripts/fuzz-long.sh [DURATION] [PACKAGE...]     default: 5m each, every package (./...)
#   scripts/fuzz-long.sh 30m ./pipeline/trust ./pipeline/links
#   scripts/fuzz-long.sh --list                       the targets, one "package target" a line
#
# Unlike fuzz.sh it goes on after a failure and ends with a summary (exit 1 if any target
# failed). Each target's output is kept in $FUZZ_LOGS (default: fuzz-logs/ at the root).
# A crashing input is written by go test to the package's testdata/fuzz/FuzzXxx/: fix the
# bug, then commit that file as a regression seed. FUZZ_MINIMIZE (default 10s) caps the
# minimization of each new input, which otherwise may use 60 s of the budget per input on
# the slower targets (those that write files: the gate, the base image).
# FUZZ_PARALLEL sets the fuzzing processes per target (default: one per CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

targets() { # prints "package target" for every fuzz target of the packages given
  for pkg in $(go list "$@"); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' | sort -u | sed "s|^|$pkg |" || true
  done
}

if [ "${1:-}" = "--list" ]; then
  shift
  targets "${@:-./...}"
  exit 0
fi
time=${1:-5m}
[ $# -gt 0 ] && shift
logs=${FUZZ_LOGS:-fuzz-logs}
mkdir -p "$logs"
parallel=()
[ -n "${FUZZ_PARALLEL:-}" ] && parallel=(-parallel "$FUZZ_PARALLEL")

list=$(targets "${@:-./...}")
n=$(printf '%s\n' "$list" | grep -c . || true)
echo "fuzz-long: $n targets, $time each (about $n x $time), logs in $logs/"
failed=0
summary=""
while read -r pkg target; do
  [ -n "$pkg" ] || continue
  log="$logs/$(echo "$pkg" | tr / _)_$target.log"
  start=$(date +%s)
  if go test -run '^$' -fuzz "^$target\$" -fuzztime "$time" -fuzzminimizetime "${FUZZ_MINIMIZE:-10s}" \
    ${parallel[@]+"${parallel[@]}"} "$pkg" > "$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=$((failed + 1))
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  line=$(printf '%-7s %-55s %-26s %8ss %12s execs' "$status" "$pkg" "$target" "$(($(date +%s) - start))" "${execs:-?}")
  echo "$line"
  summary+="$line"$'\n'
  if [ "$status" = FAILED ]; then
    grep -E -- '--- FAIL|Failing input|panic:|fuzzing process' "$log" | head -5 | sed 's/^/        /'
  fi
done <<< "$list"

echo
echo "fuzz-long summary ($time per target):"
printf '%s' "$summary"
if [ "$failed" -gt 0 ]; then
  echo "fuzz-long: $failed of $n targets FAILED (logs in $logs/; crashing inputs in testdata/fuzz/)"
  exit 1
fi
echo "fuzz-long: all $n targets passed"
