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

echo "[install-chromium] $browser not found"
bash "$(dirname "$0")/apt-install.sh" install-chromium \
  "install Chromium with your package manager and set HALO_CHROMIUM to its executable." chromium

if [[ -x /usr/bin/chromium ]]; then
  echo "[install-chromium] /usr/bin/chromium ($(/usr/bin/chromium --version 2>/dev/null || echo "version unknown"))"
  exit 0
fi
echo "[install-chromium] the 'chromium' package is installed but /usr/bin/chromium is missing" >&2
exit 1
