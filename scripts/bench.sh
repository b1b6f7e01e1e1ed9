#!/usr/bin/env bash
# Evaluation and re-ranking benchmark against the numpy reference (needs Python 3 with venv; installs numpy
# into .venv). Takes about 4 minutes and 7 GB of memory at full size. Extra arguments go to
# `reid bench eval` (e.g. --quick, --skip-msmt, --workdir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(scripts/pyenv.sh | tail -n 1)
cargo build --release --locked -p reid-cli
exec "${CARGO_TARGET_DIR:-target}/release/reid" bench eval --python "$PY" "$@"
