#!/usr/bin/env bash
# Installs a reid edge deployment: the `reid` binary, the GStreamer plugin (libgstreid.so), the systemd units,
# the configuration under /etc/reid and example pipelines.
#
#   deploy/install.sh [--prefix /opt/reid] [--etc /etc/reid] [--systemd /etc/systemd/system] [--root DIR]
#                     [--build-dir target/release] [--ort-lib FILE]
#
#   --prefix DIR     program files: bin/reid, bin/reid-pipeline, lib/gstreamer-1.0/libgstreid.so, share/ (default /opt/reid)
#   --etc DIR        configuration (default /etc/reid)
#   --systemd DIR    unit folder (default /etc/systemd/system)
#   --root DIR       install under a staging root (DIR/opt/reid, DIR/etc/reid, ...); never runs systemctl
#   --build-dir DIR  where `cargo build --release -p reid-cli -p gst-reid` left reid and libgstreid.so
#                    (default target/release of this repository)
#   --ort-lib FILE   also copy an ONNX Runtime library (and its libonnxruntime_providers_*.so) into PREFIX/lib
#
# Idempotent: a second run changes nothing. Program files and units are replaced when they differ; a configuration
# file under --etc that was edited is never overwritten: the shipped version goes next to it as FILE.default.
# --prefix / --etc other than the defaults are written into the units and configuration files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
prefix=/opt/reid
etc=/etc/reid
systemd=/etc/systemd/system
root=""
build="$repo/target/release"
ort_lib=""

die() { echo "install.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --etc) etc=${2:?--etc needs a folder}; shift 2 ;;
    --systemd) systemd=${2:?--systemd needs a folder}; shift 2 ;;
    --root) root=${2:?--root needs a folder}; shift 2 ;;
    --build-dir) build=${2:?--build-dir needs a folder}; shift 2 ;;
    --ort-lib) ort_lib=${2:?--ort-lib needs a file}; shift 2 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \`$1\` (see --help)" ;;
  esac
done
for d in "$prefix" "$etc" "$systemd"; do
  case "$d" in /*) ;; *) die "\`$d\` must be an absolute path" ;; esac
done
if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
  [ "$root" = / ] && root=""
fi
[ -x "$build/reid" ] || die "$build/reid not found: build it first (cargo build --release -p reid-cli), or give --build-dir"

changed=0
# put MODE SRC DEST: installs SRC (with --prefix/--etc substituted when asked) as DEST when they differ.
put() {
  local mode=$1 src=$2 dest=$3 tmp
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp)
  if [ "${4:-}" = render ]; then
    sed -e "s|/opt/reid|$prefix|g" -e "s|/etc/reid|$etc|g" "$src" >"$tmp"
  else
    cat "$src" >"$tmp"
  fi
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    chmod "$mode" "$dest"
    rm -f "$tmp"
    return
  fi
  install -m "$mode" "$tmp" "$dest"
  rm -f "$tmp"
  echo "  installed $dest"
  changed=$((changed + 1))
}
# config SRC DEST: a configuration file: installed when absent; an edited one is kept and the shipped version
# goes to DEST.default.
config() {
  local src=$1 dest=$2 tmp
  tmp=$(mktemp)
  sed -e "s|/opt/reid|$prefix|g" -e "s|/etc/reid|$etc|g" "$src" >"$tmp"
  if [ ! -e "$dest" ]; then
    put 0644 "$tmp" "$dest"
  elif ! cmp -s "$tmp" "$dest"; then
    put 0644 "$tmp" "$dest.default"
    echo "  kept edited $dest (the shipped version is $dest.default)"
  fi
  rm -f "$tmp"
}

P="$root$prefix" E="$root$etc" S="$root$systemd"
echo "install.sh: installing into ${root:-/} (prefix $prefix, etc $etc, units $systemd)"

put 0755 "$build/reid" "$P/bin/reid"
put 0755 "$here/bin/reid-pipeline" "$P/bin/reid-pipeline" render
if [ -f "$build/libgstreid.so" ]; then
  put 0644 "$build/libgstreid.so" "$P/lib/gstreamer-1.0/libgstreid.so"
else
  echo "install.sh: warning: $build/libgstreid.so not found (cargo build --release -p gst-reid); pipelines need it" >&2
fi
if [ -n "$ort_lib" ]; then
  [ -f "$ort_lib" ] || die "--ort-lib $ort_lib: no such file"
  put 0644 "$ort_lib" "$P/lib/libonnxruntime.so"
  for p in "$(dirname "$ort_lib")"/libonnxruntime_providers_*.so; do
    [ -f "$p" ] && put 0644 "$p" "$P/lib/$(basename "$p")"
  done
fi
mkdir -p "$P/models"

# Documentation and pristine copies of everything configurable.
put 0644 "$here/jetson.md" "$P/share/doc/reid/jetson.md"
put 0644 "$here/systemd/jetson.conf" "$P/share/reid/systemd/jetson.conf"
for f in "$here"/zenoh/*.json5; do put 0644 "$f" "$P/share/reid/zenoh/$(basename "$f")"; done
for f in "$here"/etc/pipelines/*.pipeline; do put 0644 "$f" "$P/share/reid/pipelines/$(basename "$f")" render; done
if [ -d "$here/pipelines" ]; then
  for f in "$here"/pipelines/*; do
    [ -f "$f" ] || continue
    case "$f" in *.sh) mode=0755 ;; *) mode=0644 ;; esac
    put "$mode" "$f" "$P/share/reid/pipelines/$(basename "$f")"
  done
fi

# Configuration (never overwritten once edited).
mkdir -p "$E/pipelines" "$E/zenoh"
config "$here/etc/gallery.env" "$E/gallery.env"
config "$here/etc/pipeline.env" "$E/pipeline.env"
for f in "$here"/zenoh/*.json5; do config "$f" "$E/zenoh/$(basename "$f")"; done

# Units.
put 0644 "$here/systemd/reid-gallery.service" "$S/reid-gallery.service" render
put 0644 "$here/systemd/reid-pipeline@.service" "$S/reid-pipeline@.service" render

echo "install.sh: $changed file(s) changed"
if [ -z "$root" ]; then
  if [ "$changed" -gt 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
  cat <<NEXT
next:
  $prefix/bin/reid doctor                       # what this host has, what is missing
  $prefix/bin/reid gallery certs --out $etc/site --site \$(hostname) --clients admin,cam1 --hosts \$(hostname)
                                                # mutual TLS: the site CA, the server's and clients' certificates
  edit $etc/gallery.env, then: systemctl enable --now reid-gallery
  cp $prefix/share/reid/pipelines/synthetic.pipeline $etc/pipelines/cam1.pipeline   # edit, then:
  systemctl enable --now reid-pipeline@cam1
NEXT
fi
