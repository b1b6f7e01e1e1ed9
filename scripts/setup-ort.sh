#!/usr/bin/env bash
# Idempotently installs the ONNX Runtime shared library that `reid`'s `ort` engine loads at run time, taken from
# the PyPI `onnxruntime` wheel (CPU provider; `--gpu` takes `onnxruntime-gpu`, x86_64 only, which adds the CUDA
# and TensorRT providers — those still need CUDA, cuDNN and TensorRT installed). Nothing is compiled.
#
#   scripts/setup-ort.sh [--gpu]        # prints the library path on its last line
#
# Installs into $REID_HOME/onnxruntime/lib (REID_HOME defaults to ${XDG_DATA_HOME:-~/.local/share}/reid), where
# `reid` looks by default. ORT_VERSION overrides the pinned version. Needs curl and unzip (installed with apt-get
# when missing).
set -euo pipefail
PKG=onnxruntime
if [ "${1:-}" = "--gpu" ]; then PKG=onnxruntime-gpu; fi
VERSION=${ORT_VERSION:-1.32.0}
HOME_DIR=${REID_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/reid}
DIR="$HOME_DIR/onnxruntime/lib"
STAMP="$DIR/INSTALLED"
ARCH=$(uname -m)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKG $VERSION $ARCH" ] && [ -e "$DIR/libonnxruntime.so" ]; then
  echo "$DIR/libonnxruntime.so"
  exit 0
fi

need() {  # need <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "setup-ort: installing $2 (for $1)" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}
need curl curl
need unzip unzip

echo "setup-ort: fetching $PKG $VERSION ($ARCH) from PyPI" >&2
# PyPI's simple index (PEP 503) lists every file with its absolute URL and sha256.
FILE_PREFIX="${PKG//-/_}-$VERSION-"
LINK=$(curl -fsSL "https://pypi.org/simple/$PKG/" \
  | grep -o "href=\"[^\"]*/${FILE_PREFIX}cp[0-9]*-cp[0-9]*-manylinux[^\"]*_${ARCH}\.whl#sha256=[0-9a-f]*\"" \
  | head -n1 | sed 's/^href="//; s/"$//' || true)
if [ -z "$LINK" ]; then
  echo "setup-ort: PyPI has no manylinux $ARCH wheel of $PKG $VERSION" >&2
  exit 1
fi
URL=${LINK%%#*}
SHA=${LINK##*#sha256=}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
curl -fsSL -o "$TMP/ort.whl" "$URL"
echo "$SHA  $TMP/ort.whl" | sha256sum -c --quiet - >&2
unzip -q -o "$TMP/ort.whl" 'onnxruntime/capi/libonnxruntime*.so*' -d "$TMP/x"
mkdir -p "$DIR"
# Replace the previous install as a whole: copy, then switch the link and the stamp last.
cp -f "$TMP"/x/onnxruntime/capi/libonnxruntime* "$DIR/"
MAIN=$(cd "$DIR" && ls libonnxruntime.so.* 2>/dev/null | sort -V | tail -n1)
if [ -z "$MAIN" ]; then
  echo "setup-ort: the wheel has no libonnxruntime.so.*" >&2
  exit 1
fi
ln -sfn "$MAIN" "$DIR/libonnxruntime.so"
echo "$PKG $VERSION $ARCH" > "$STAMP"
echo "setup-ort: installed $DIR/$MAIN" >&2
echo "$DIR/libonnxruntime.so"
