#!/usr/bin/env bash
# Downloads Debian packages from deb.debian.org with a private apt state (signed by the system's Debian keyring) and
# unpacks them into a folder; nothing is installed and the system's apt state is not touched.
# Usage: scripts/unpack-debs.sh ARCH SUITE[,SUITE...] DEST PACKAGE...
#   SUITE is a Debian suite (bullseye, bookworm-updates, ...); `-security` suites come from debian-security.
# Prints `package=version` of each unpacked package, one per line.
set -euo pipefail
[ "$#" -ge 4 ] || { echo "usage: scripts/unpack-debs.sh ARCH SUITE[,SUITE...] DEST PACKAGE..." >&2; exit 2; }
arch=$1 suites=$2 dest=$3
shift 3
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
chmod 755 "$state"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
IFS=, read -ra suite_list <<<"$suites"
for s in "${suite_list[@]}"; do
  case "$s" in
    *-security) echo "deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian-security $s main" ;;
    *) echo "deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian $s main" ;;
  esac
done >"$state/sources.list"
: >"$state/status"
apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$state/lists" -o "Dir::State::status=$state/status" -o "Dir::Cache=$state/cache"
  -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o APT::Sandbox::User=root)
apt-get -qq "${apt_opts[@]}" update >&2
(cd "$state/debs" && apt-get -qq "${apt_opts[@]}" download "$@" >&2)
mkdir -p "$dest"
for deb in "$state/debs"/*.deb; do
  dpkg-deb -x "$deb" "$dest"
  dpkg-deb -f "$deb" Package Version | awk '/^Package:/ { p = $2 } /^Version:/ { print p "=" $2 }'
done
