#!/usr/bin/env bash
# Idempotently installs what the GStreamer plugin (gst-plugin/) builds and tests against: the GStreamer and
# gst-plugins-base development files (pkg-config finds them), gst-launch-1.0 / gst-inspect-1.0 and the base plugins.
# Debian/Ubuntu (apt-get); a no-op when pkg-config already finds GStreamer >= 1.14 and the tools are present.
set -euo pipefail
have() {
  pkg-config --atleast-version=1.14 gstreamer-1.0 gstreamer-base-1.0 gstreamer-video-1.0 gstreamer-check-1.0 \
    2>/dev/null && command -v gst-inspect-1.0 >/dev/null && command -v gst-launch-1.0 >/dev/null
}
if ! have; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  pkgs=(pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base)
  echo "setup-gst: installing ${pkgs[*]}" >&2
  # A fresh machine's package lists may be stale or empty: refresh them when the first attempt fails.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2
  fi
  have || { echo "setup-gst: GStreamer >= 1.14 development files still not found by pkg-config" >&2; exit 1; }
fi
echo "GStreamer $(pkg-config --modversion gstreamer-1.0)"
