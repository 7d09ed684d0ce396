#!/usr/bin/env bash
# The README's two commands, as a new user meets them: in a clone of its own (nothing beside it, so tests that
# need ../shared skip with their reason) and outside CI. Prints what failed; exits 1 if anything did.
set -uo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d /tmp/gateway-fresh-XXXXXX)"
stop_gateway() {
  # dotnet run starts the gateway as its child: stop both, so that nothing keeps the ports.
  [ -n "${gateway_pid:-}" ] || return 0
  pkill -TERM -P "$gateway_pid" 2>/dev/null; kill -TERM "$gateway_pid" 2>/dev/null; wait "$gateway_pid" 2>/dev/null
  gateway_pid=""
}
trap 'stop_gateway; rm -rf "$work"' EXIT

# Another process on the default ports would answer for the gateway under test.
for port in 8080 9901; do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    echo "fresh clone: port $port is already taken; cannot check 'dotnet run' on the default config"
    exit 1
  fi
done
git clone -q . "$work/gateway" || { echo "fresh clone: git clone failed"; exit 1; }
cd "$work/gateway"
status=0

# 1. dotnet run --project src/Gateway: the default config serves without any other process.
env -u CI dotnet run --project src/Gateway > "$work/run.log" 2>&1 &
gateway_pid=$!
answer=""
for _ in $(seq 1 240); do
  answer="$(curl -s --max-time 2 http://127.0.0.1:8080/hello || true)"
  [ -n "$answer" ] && break
  kill -0 "$gateway_pid" 2>/dev/null || break
  sleep 0.5
done
ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:9901/readyz || true)"
# The default config's mock answer (the README promises it), not just any answer on the port.
expected="hello from the gateway"
grep -q "$expected" config/gateway.yaml || expected=""
if ! kill -0 "$gateway_pid" 2>/dev/null || [ -z "$expected" ] || [[ "$answer" != *"$expected"* ]] || [ "$ready" != "200" ]; then
  echo "fresh clone: 'dotnet run --project src/Gateway' did not serve the default config's /hello on :8080 with /readyz 200 (got '$answer', '$ready'):"
  tail -5 "$work/run.log"
  status=1
fi
stop_gateway

# 2. scripts/test.sh in a clone of its own: the tests that read files beside the checkout or the clone itself
# (reference configs, examples, schema, CLI, packaging) must pass or skip with their reason. The whole suite runs on
# the checkout itself right after this; running all of it twice would only double the exposure to timing noise.
env -u CI CODECS=native TEST_FILTER="FullyQualifiedName~Configuration|FullyQualifiedName~Cli|FullyQualifiedName~Packaging" \
  scripts/test.sh > "$work/test.log" 2>&1
summary="$(tail -n 1 "$work/test.log")"
if ! grep -qE '^[0-9]+ passed, 0 failed' <<<"$summary"; then
  echo "fresh clone: scripts/test.sh ended with '$summary':"
  grep -E "^\s+Failed " "$work/test.log" | head -20
  status=1
fi
[ "$status" -eq 0 ] && echo "fresh clone: both README commands work ($summary)"
exit "$status"
