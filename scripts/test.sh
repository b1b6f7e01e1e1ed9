#!/usr/bin/env bash
# The test suite, as CI runs it: formatting, lints (warnings are errors), the edge build, all tests.
# Needs only the Rust toolchain (scripts/setup-ort.sh fetches the ONNX Runtime library from PyPI once); safe to
# run repeatedly. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n== %s\n' "$*"; }

step "ONNX Runtime library for the ort engine tests (scripts/setup-ort.sh, idempotent)"
scripts/setup-ort.sh

step "Python environment for the gallery's Python client test (scripts/pyenv.sh, idempotent)"
REID_PYTHON=$(scripts/pyenv.sh | tail -n1)
export REID_PYTHON

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features of every crate, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy: CUDA training build (feature cuda; type-checked, not linked)"
# burn-cuda's cubecl-llvm downloads an LLVM bundle in its build script; DOCS_RS=1 makes those build scripts skip it,
# which is enough to type-check every line of the CUDA path. Linking a real CUDA build needs that download once.
DOCS_RS=1 cargo clippy -p reid-cli --all-targets --features cuda --locked -- -D warnings

step "edge builds: reid without training (tract only; and with ONNX Runtime and the Zenoh gallery, as on a Jetson)"
cargo clippy -p reid-cli --no-default-features --locked -- -D warnings
cargo clippy -p reid-cli --no-default-features --features ort,gallery --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

echo
echo "all checks passed"
