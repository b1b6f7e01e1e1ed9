#!/usr/bin/env bash
# The test suite, as CI runs it: formatting, lints (warnings are errors), the edge build, all tests.
# Needs only the Rust toolchain (scripts/setup-ort.sh fetches the ONNX Runtime library from PyPI once); safe to
# run repeatedly. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

# A cold CI build gains nothing from incremental caches and they cost disk.
if [[ "${CI:-}" == "true" ]]; then export CARGO_INCREMENTAL=0; fi

step() { printf '\n== %s  (%ss so far)\n' "$*" "$SECONDS"; }

step "ONNX Runtime library for the ort engine tests (scripts/setup-ort.sh, idempotent)"
scripts/setup-ort.sh

step "GStreamer development files for the plugin (scripts/setup-gst.sh, idempotent)"
scripts/setup-gst.sh

step "systemd-analyze for the deploy tests' unit verification (scripts/setup-systemd-analyze.sh, idempotent)"
scripts/setup-systemd-analyze.sh

step "headless chromium for the gallery console's browser tests (scripts/setup-chromium.sh, idempotent)"
scripts/setup-chromium.sh

step "Python environment for the gallery's Python client test (scripts/pyenv.sh, idempotent)"
REID_PYTHON=$(scripts/pyenv.sh | tail -n1)
export REID_PYTHON

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features of every crate, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy: CUDA build (feature cuda: burn-cuda training and the gallery's GPU path; type-checked)"
# burn-cuda's cubecl-llvm downloads an LLVM bundle in its build script; DOCS_RS=1 makes those build scripts skip it,
# which is enough to type-check every line of the CUDA path. Linking a real CUDA build needs that download once.
DOCS_RS=1 cargo clippy -p reid-cli -p reid-gallery --all-targets --features reid-cli/cuda,reid-gallery/cuda --locked -- -D warnings

step "edge build check on x86-64: reid without training and without ONNX Runtime or the gallery (tract only)"
cargo clippy -p reid-cli --no-default-features --locked -- -D warnings

step "quick-start build check: reid with training only (what scripts/quickstart.sh builds)"
cargo clippy -p reid-cli --no-default-features --features train --locked -- -D warnings

step "aarch64 edge build (Jetson; reid with ONNX Runtime and the gallery, the plugin; cargo-zigbuild, glibc 2.31): sizes, highest GLIBC version, unit tests under qemu"
# Installs the Rust aarch64 target, Zig + cargo-zigbuild (PyPI), qemu-user and the arm64 GStreamer dev files.
scripts/edge-aarch64.sh

step "cargo test (the gallery with its GPU path: CUDA kernels compiled by NVRTC, GPU comparisons skip without a GPU)"
# NVIDIA's NVRTC wheel (PyPI) provides libnvrtc, so the gallery's CUDA C kernels are really compiled here; no GPU is
# needed. Building the gallery with `cuda` inside the workspace run costs one extra crate (cudarc), not a rebuild.
scripts/pyenv.sh --nvrtc >/dev/null
NVRTC_LIB=$(dirname "$(find "$PWD/.venv" -name 'libnvrtc.so.12' | head -n1)")
LD_LIBRARY_PATH="$NVRTC_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  cargo test --workspace --locked --features reid-gallery/cuda

step "the GStreamer plugin against GStreamer 1.18 / GLib 2.66 (Debian 11) symbols (scripts/check-gst-abi.sh)"
scripts/check-gst-abi.sh

echo
echo "all checks passed in ${SECONDS}s (target dir: $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1))"
