#!/usr/bin/env bash
# Idempotently creates .venv with the Python packages the reference scripts and benchmarks need.
# Usage: scripts/pyenv.sh   (prints the interpreter path on its last line)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv >&2
fi
if ! .venv/bin/python -c "import numpy" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "numpy>=2,<3" >&2
fi
echo "$PWD/.venv/bin/python"
