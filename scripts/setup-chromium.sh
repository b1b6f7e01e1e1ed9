#!/usr/bin/env bash
# Idempotently installs Debian's `chromium`, the headless browser the gallery console's tests drive over the
# DevTools protocol (gallery/tests/console.rs). Debian/Ubuntu (apt-get); a no-op when `chromium` (or $CHROMIUM)
# already runs.
set -euo pipefail
browser=${CHROMIUM:-chromium}
if ! command -v "$browser" >/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "setup-chromium: installing chromium" >&2
  # A fresh machine's package lists may be stale or empty: refresh them when the first attempt fails.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
  fi
  command -v "$browser" >/dev/null || { echo "setup-chromium: $browser still not found" >&2; exit 1; }
fi
"$browser" --version
