#!/usr/bin/env bash
# The aarch64 (Jetson) edge build, as CI runs it (scripts/test.sh calls it):
#   1. builds `reid` without training (ONNX Runtime + Zenoh gallery) and the GStreamer plugin for
#      aarch64-unknown-linux-gnu with cargo-zigbuild against glibc 2.31 (JetPack 5; JetPack 6 has 2.35),
#   2. prints each binary's size (as built and stripped) and the highest GLIBC symbol version it needs, and fails
#      if that is above 2.31,
#   3. builds the runtime's and the gallery's unit tests for aarch64 and runs them under qemu-aarch64, linked
#      statically against musl: on this machine glibc aarch64 programs (Debian's libc 2.36, with qemu 7.2 and 10.0)
#      hang under qemu-user when they start a thread, static musl ones do not; the tests are about aarch64 code.
# Everything it needs comes from scripts/setup-aarch64.sh (idempotent). By default the dev profile with dependencies
# at opt-level 0 and our crates at 1 instead of the workspace's 3 (this is a compile-and-test check, and CI time is
# short: a cold run of this script compiles every dependency twice, for glibc and for musl); `--release` builds the
# release profile instead (the sizes to ship).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
cargo_profile=(--config 'profile.dev.opt-level=1' --config 'profile.dev.package."*".opt-level=0')
for a in "$@"; do
  case "$a" in
    --release) profile=release; cargo_profile=(--release) ;;
    *) echo "edge-aarch64: unknown option $a (known: --release)" >&2; exit 2 ;;
  esac
done
GLIBC=2.31
TARGET=aarch64-unknown-linux-gnu
bin=$(scripts/setup-aarch64.sh --gst | tail -n1)
export PATH="$bin:$PATH"
# The GStreamer -sys crates link the arm64 libraries setup-aarch64.sh unpacked, named here instead of by pkg-config
# (system-deps overrides; no C headers are needed).
for dep in GLIB_2_0:glib-2.0 GOBJECT_2_0:gobject-2.0 GIO_2_0:gio-2.0 GSTREAMER_1_0:gstreamer-1.0 GSTREAMER_BASE_1_0:gstbase-1.0 \
  GSTREAMER_VIDEO_1_0:gstvideo-1.0; do
  export "SYSTEM_DEPS_${dep%%:*}_NO_PKG_CONFIG=1" "SYSTEM_DEPS_${dep%%:*}_LIB=${dep#*:}"
  export "SYSTEM_DEPS_${dep%%:*}_SEARCH_NATIVE=$PWD/.cross/gst-arm64/usr/lib/aarch64-linux-gnu"
done
# The test binaries are static (musl): qemu-aarch64 runs them with no aarch64 C runtime around.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64
out="${CARGO_TARGET_DIR:-target}/$TARGET/$profile"
# Warnings in our crates fail the build, as clippy -D warnings does on x86-64: code that only aarch64 compiles (or
# no longer compiles) is checked here. Dependencies are capped by cargo as always.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-D warnings"

echo "edge-aarch64: reid (no training; ort, gallery) and the GStreamer plugin for $TARGET, glibc $GLIBC"
# One invocation, so the dependencies both share are built once with one feature set.
cargo zigbuild --locked "${cargo_profile[@]}" --target "$TARGET.$GLIBC" -p reid-cli -p gst-reid \
  --no-default-features --features reid-cli/ort,reid-cli/gallery,gst-reid/ort,gst-reid/publish

mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
status=0
printf '\n%-16s %10s %10s  %s\n' binary "size MiB" "stripped" "highest GLIBC symbol version"
for f in "$out/reid" "$out/libgstreid.so"; do
  [ -f "$f" ] || { echo "edge-aarch64: $f was not built" >&2; exit 1; }
  readelf -h "$f" | grep -q 'Machine: *AArch64' || { echo "edge-aarch64: $f is not an aarch64 ELF" >&2; exit 1; }
  stripped=$(mktemp)
  aarch64-linux-gnu-strip -o "$stripped" "$f"
  max=$(readelf --dyn-syms -W "$f" | grep -o 'GLIBC_[0-9.]*' | sort -u -V | tail -n1)
  printf '%-16s %10s %10s  %s\n' "$(basename "$f")" "$(mib "$f")" "$(mib "$stripped")" "$max"
  rm -f "$stripped"
  if [ "$(printf '%s\n%s\n' "${max#GLIBC_}" "$GLIBC" | sort -V | tail -n1)" != "$GLIBC" ]; then
    echo "edge-aarch64: $(basename "$f") needs $max, above JetPack 5's glibc $GLIBC" >&2
    status=1
  fi
done
[ "$status" = 0 ] || exit 1

echo
echo "edge-aarch64: eval, runtime, protocol and gallery unit tests under qemu-aarch64 (aarch64-unknown-linux-musl)"
cargo-zigbuild test --locked "${cargo_profile[@]}" --target aarch64-unknown-linux-musl \
  -p reid-eval -p reid-runtime -p reid-protocol -p reid-gallery --features reid-gallery/net --lib
