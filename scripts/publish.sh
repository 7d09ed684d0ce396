#!/usr/bin/env bash
# Builds the gateway as one self-contained executable (no .NET install needed on the target) for each runtime
# named: linux-x64 (the default) and/or linux-arm64. Output: dist/<runtime>/gateway, with the starter config and
# its JSON Schema beside it (DIST=FOLDER puts dist/ elsewhere).
#   scripts/publish.sh                      # dist/linux-x64/gateway
#   scripts/publish.sh linux-x64 linux-arm64
set -euo pipefail
cd "$(dirname "$0")/.."

runtimes=("$@")
[ ${#runtimes[@]} -gt 0 ] || runtimes=(linux-x64)

for runtime in "${runtimes[@]}"; do
  case "$runtime" in
    linux-x64|linux-arm64) ;;
    *) echo "publish.sh: unsupported runtime '$runtime' (linux-x64 or linux-arm64)" >&2; exit 1 ;;
  esac

  out="${DIST:-dist}/$runtime"
  rm -rf "$out"
  dotnet publish src/Gateway -c Release -r "$runtime" --self-contained \
    -p:PublishSingleFile=true -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false -p:DebugType=embedded \
    -o "$out" -nologo -v quiet
  cp config/gateway.yaml config/gateway.schema.json "$out/"
  echo "$out/gateway ($(du -m "$out/gateway" | cut -f1) MiB)"
done
