#!/usr/bin/env bash
# Idempotently installs the aarch64 (Jetson) cross toolchain that scripts/edge-aarch64.sh uses, all from registries:
#   - the Rust standard library for aarch64-unknown-linux-gnu and aarch64-unknown-linux-musl (rustup; the musl one
#     for the static test binaries that run under qemu),
#   - Zig and cargo-zigbuild from PyPI (pinned) into .venv-zig: Zig links against glibc 2.31 stubs, so the binaries
#     load on JetPack 5 (Ubuntu 20.04, glibc 2.31) and JetPack 6 (Ubuntu 22.04, glibc 2.35),
#   - Debian's qemu-user (qemu-aarch64, runs the aarch64 test binaries) and binutils for aarch64 (strip),
#   - with --gst: the arm64 GStreamer and GLib libraries the plugin links against, unpacked into .cross/gst-arm64.
# Prints the folder holding cargo-zigbuild and zig on its last line (put it first on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
ZIG_VERSION=0.15.2
ZIGBUILD_VERSION=0.24.1
TARGET=aarch64-unknown-linux-gnu
gst=false
for a in "$@"; do
  case "$a" in
    --gst) gst=true ;;
    *) echo "setup-aarch64: unknown option $a (known: --gst)" >&2; exit 2 ;;
  esac
done

for t in "$TARGET" aarch64-unknown-linux-musl; do
  if ! rustup target list --installed | grep -qx "$t"; then
    echo "setup-aarch64: rustup target add $t" >&2
    rustup target add "$t" >&2
  fi
done

venv=$PWD/.venv-zig
if ! { "$venv/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $ZIGBUILD_VERSION$" &&
  [ "$("$venv/bin/python" -m ziglang version 2>/dev/null)" = "$ZIG_VERSION" ]; }; then
  echo "setup-aarch64: ziglang $ZIG_VERSION and cargo-zigbuild $ZIGBUILD_VERSION from PyPI into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION" >&2
fi
# cargo-zigbuild runs `zig`: a two-line wrapper beside it so it finds the wheel's.
if [ ! -x "$venv/bin/zig" ]; then
  printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$venv/bin/python" >"$venv/bin/zig"
  chmod +x "$venv/bin/zig"
fi

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
apt_install() {
  # A fresh machine's package lists may be stale or empty: refresh them when the first attempt fails.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-strip >/dev/null; then
  echo "setup-aarch64: installing qemu-user binutils-aarch64-linux-gnu" >&2
  apt_install qemu-user binutils-aarch64-linux-gnu
fi

# The arm64 GStreamer and GLib shared libraries the plugin links against, unpacked into .cross/gst-arm64 (Debian's
# arm64 packages fetched with a private apt state; nothing is installed, because Debian's arm64 GStreamer development
# packages cannot be installed beside the amd64 ones the x86-64 build needs).
sysroot=$PWD/.cross/gst-arm64
libdir=$sysroot/usr/lib/aarch64-linux-gnu
if $gst && [ ! -e "$libdir/libgstvideo-1.0.so" ]; then
  echo "setup-aarch64: fetching the arm64 GStreamer and GLib libraries into $sysroot" >&2
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  rm -rf "$sysroot.tmp"
  scripts/unpack-debs.sh arm64 "$codename,$codename-updates,$codename-security" "$sysroot.tmp" \
    libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libglib2.0-0 >&2
  # The link-time names (the -dev packages' symlinks).
  for l in glib-2.0 gobject-2.0 gio-2.0 gstreamer-1.0 gstbase-1.0 gstvideo-1.0; do
    ln -sf "lib$l.so.0" "$sysroot.tmp/usr/lib/aarch64-linux-gnu/lib$l.so"
  done
  rm -rf "$sysroot" && mv "$sysroot.tmp" "$sysroot"
fi
echo "$venv/bin"
