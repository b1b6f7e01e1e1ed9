#!/usr/bin/env bash
# Idempotently installs `systemd-analyze` (Debian/Ubuntu package `systemd`), which the deploy tests use to verify
# the units in deploy/systemd (`cargo test -p reid-cli -- deploy`; without it that test prints SKIPPED).
# Installing the package does not start systemd; a no-op when systemd-analyze is already there.
set -euo pipefail
if ! command -v systemd-analyze >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "setup-systemd-analyze: installing systemd" >&2
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >&2; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >&2
  fi
fi
systemd-analyze --version | head -n1
