#!/usr/bin/env bash
# Installs the npm packages of the JavaScript real-SDK acceptance test
# (cmd/analyze/testdata/js_shop: the OpenTelemetry JS SDK with its OTLP gRPC
# and HTTP/protobuf exporters, the OpenFeature server SDK with its official
# OpenTelemetry hook), pinned by its package-lock.json, once: into the state
# dir under the lock file's hash, so a changed lock installs anew and an
# unchanged one costs nothing. Prints the node_modules directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/cmd/analyze/testdata/js_shop
STATE=${STEADYSTATE_STATE_DIR:-$ROOT/.state}
command -v npm >/dev/null || { echo "[jsdeps] npm is not installed (Node.js >= 20.6 with npm is needed)" >&2; exit 1; }
hash=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -c1-16)
dir=$STATE/jsdeps/$hash
if [ ! -f "$dir/.installed" ]; then
  echo "[jsdeps] installing the JavaScript shop's packages into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$dir/"
  # No install scripts: none of these packages needs one to run.
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  touch "$dir/.installed"
fi
echo "$dir/node_modules"
