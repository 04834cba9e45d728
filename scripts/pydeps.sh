#!/usr/bin/env bash
# Installs the Python packages the test suite uses, when missing: chDB (a
# current ClickHouse engine, in-process) for the SQL cross-check.
set -euo pipefail
PYTHON=${PYTHON:-python3}
want=()
"$PYTHON" -c 'import chdb' 2>/dev/null || want+=("chdb==4.4.0")
if [ ${#want[@]} -gt 0 ]; then
  echo "[pydeps] installing ${want[*]}" >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "${want[@]}" >&2
fi
