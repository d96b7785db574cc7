#!/usr/bin/env bash
# Makes sure a Chromium the dashboard test can drive (playwright-core with executablePath) is
# installed, and prints where it is. Idempotent: when /usr/bin/chromium (or $HALO_CHROMIUM) is
# there it changes nothing. Otherwise it installs Debian's `chromium` package with apt-get,
# non-interactively (as root, or through passwordless sudo). Playwright's own browser
# download is not used: it needs hosts beyond the package registries.
set -euo pipefail

browser="${HALO_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$browser" ]]; then
  echo "[install-chromium] $browser ($("$browser" --version 2>/dev/null || echo "version unknown"))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[install-chromium] $browser not found and apt-get is not available: install Chromium with your" >&2
  echo "[install-chromium] package manager and set HALO_CHROMIUM to its executable." >&2
  exit 1
fi

as_root=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "[install-chromium] $browser not found; installing it needs root: run this script as root" >&2
    echo "[install-chromium] (or with passwordless sudo), or set HALO_CHROMIUM to an installed Chromium." >&2
    exit 1
  fi
fi

echo "[install-chromium] $browser not found: installing the Debian 'chromium' package"
apt_options=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" update </dev/null
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install --no-install-recommends chromium </dev/null

if [[ -x /usr/bin/chromium ]]; then
  echo "[install-chromium] /usr/bin/chromium ($(/usr/bin/chromium --version 2>/dev/null || echo "version unknown"))"
  exit 0
fi
echo "[install-chromium] the 'chromium' package is installed but /usr/bin/chromium is missing" >&2
exit 1
