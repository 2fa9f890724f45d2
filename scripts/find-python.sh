#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter that actually runs.
# Order: $PYTHON, interpreters on PATH (a pyenv shim may exist but refuse to run), then pyenv's own versions.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
if [ -n "${PYTHON:-}" ]; then
  if ok "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON does not run or is older than 3.12" >&2; exit 1
fi
for name in python3.12 python3.13 python3.14 python3 python; do
  if command -v "$name" >/dev/null 2>&1 && ok "$name"; then command -v "$name"; exit 0; fi
done
root=$( (pyenv root) 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for cand in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V); do
  if ok "$cand"; then echo "$cand"; exit 0; fi
done
echo "No working Python >= 3.12 found. Install one (e.g. 'pyenv install 3.12') or run with PYTHON=/path/to/python3.12." >&2
exit 1
