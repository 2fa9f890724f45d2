#!/usr/bin/env bash
# Install the Debian packages the test suite needs (headless Chromium for the browser tests,
# PostgreSQL 15 for the store tests, OpenBLAS for PyTensor, poppler for PDF checks) when missing.
set -eu
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
ldconfig -p 2>/dev/null | grep -q "libopenblas.so " || need+=(libopenblas-dev)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${need[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
