#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "N passed, N failed, N skipped".
# The suite runs twice: on the gateway's own HTTP/1.1 codec (the default) and on Kestrel's (GATEWAY_HTTP1_CODEC=kestrel),
# so every feature is checked on both. CODECS="native" runs one pass only; TEST_FILTER="..." passes a dotnet test filter.
set -uo pipefail
cd "$(dirname "$0")/.."

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

if ! build_output=$(dotnet build Gateway.slnx -c Release -nologo 2>&1); then
  grep -E "error" <<<"$build_output" | sort -u
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

status=0
for codec in ${CODECS:-native kestrel}; do
  echo "== tests on the $codec HTTP/1.1 codec"
  # The console logger prints each failure once (with its stack trace); passed and skipped lines are left out.
  # --blame: if the test host crashes, the output names the test that was running.
  GATEWAY_HTTP1_CODEC=$codec dotnet test Gateway.slnx -c Release --no-build --nologo --blame ${TEST_FILTER:+--filter "$TEST_FILTER"} \
    --logger "trx;LogFilePrefix=$codec" --results-directory "$results" \
    --logger "console;verbosity=minimal" 2>&1 | grep -vE "^\s*(Passed|Skipped) " | grep -vE "^\s*$"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
