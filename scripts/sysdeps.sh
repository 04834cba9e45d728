#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, when missing: chromium,
# which opens report.html headless with no network and screenshots it.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[sysdeps] chromium is missing: install the Debian package chromium" >&2
    exit 1
  fi
  echo "[sysdeps] installing chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
