#!/usr/bin/env bash
# Installs Debian packages non-interactively, as root or through passwordless sudo.
# Usage: apt-install.sh <log tag> <hint when root is missing> <package>...
# Shared by install-postgres.sh, install-chromium.sh and .ci/run; exits non-zero with the
# hint when apt-get or root is not available.
set -euo pipefail

tag="$1"
hint="$2"
shift 2

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[$tag] apt-get is not available: $hint" >&2
  exit 1
fi

as_root=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "[$tag] installing $* needs root: run as root (or with passwordless sudo), or $hint" >&2
    exit 1
  fi
fi

echo "[$tag] installing the Debian package(s): $*"
apt_options=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" update </dev/null
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install --no-install-recommends "$@" </dev/null
