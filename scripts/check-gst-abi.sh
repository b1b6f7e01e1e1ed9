#!/usr/bin/env bash
# Checks that the built GStreamer plugin (libgstreid.so) loads on an older GStreamer than the one it was built
# against: every symbol it imports from GStreamer (core, base, video) and GLib (glib, gobject) must be exported by
# Debian 11's packages (GStreamer 1.18.4, GLib 2.66; Jetson images carry GStreamer 1.16-1.20 and GLib 2.64-2.72).
# The packages are fetched with `apt-get download` from deb.debian.org (bullseye) and unpacked under a temporary
# folder by scripts/unpack-debs.sh, nothing is installed. Usage: scripts/check-gst-abi.sh [PLUGIN.so]   (default: the debug build's).
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${1:-}
if [ -z "$plugin" ]; then
  # `cargo build` puts it in debug/, a test build only in debug/deps/.
  for p in "${CARGO_TARGET_DIR:-target}"/debug/libgstreid.so "${CARGO_TARGET_DIR:-target}"/debug/deps/libgstreid.so; do
    if [ -f "$p" ]; then plugin=$p; break; fi
  done
fi
plugin=${plugin:-${CARGO_TARGET_DIR:-target}/debug/libgstreid.so}
[ -f "$plugin" ] || { echo "check-gst-abi: $plugin not found (build it: cargo build -p gst-reid)" >&2; exit 1; }
suite=bullseye
pkgs=(libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libglib2.0-0)
libs=(libgstreamer-1.0.so.0 libgstbase-1.0.so.0 libgstvideo-1.0.so.0 libglib-2.0.so.0 libgobject-2.0.so.0 libgio-2.0.so.0)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t versions < <(scripts/unpack-debs.sh amd64 "$suite" "$work/root" "${pkgs[@]}")
[ "${#versions[@]}" = "${#pkgs[@]}" ] || { echo "check-gst-abi: could not fetch ${pkgs[*]} from $suite" >&2; exit 1; }

# The symbols the plugin imports that today's GStreamer/GLib libraries (the ones it links) define.
new_defs=$(for l in "${libs[@]}"; do
  f=$(ldd "$plugin" | awk -v l="$l" '$1 == l { print $3 }')
  if [ -n "$f" ]; then nm -D --defined-only "$f" | awk '{ print $3 }'; fi
done | sort -u)
needed=$(nm -D --undefined-only "$plugin" | awk '{ print $2 }' | sed 's/@.*//' | sort -u | comm -12 - <(echo "$new_defs"))
old_defs=$(for l in "${libs[@]}"; do
  f=$(find "$work/root" -name "$l" | head -n1)
  [ -n "$f" ] || { echo "check-gst-abi: $l not in the $suite packages" >&2; exit 1; }
  nm -D --defined-only "$f" | awk '{ print $3 }'
done | sort -u)
missing=$(comm -23 <(echo "$needed") <(echo "$old_defs"))
echo "check-gst-abi: $(basename "$plugin") imports $(echo "$needed" | grep -c .) GStreamer/GLib symbols;" \
  "checked against $suite (${versions[*]})"
if [ -n "$missing" ]; then
  echo "check-gst-abi: not exported by $suite's libraries:" >&2
  echo "$missing" >&2
  exit 1
fi
echo "check-gst-abi: all present"
