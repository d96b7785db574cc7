#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl) the tests start a throwaway
# cluster with are installed, and prints where they are. Idempotent: when they are already
# there it changes nothing. Otherwise it installs Debian/Ubuntu's `postgresql` package with
# apt-get, non-interactively (as root, or through passwordless sudo).
#
# Looks in $HALO_POSTGRES_BIN_DIR, then PATH, then /usr/lib/postgresql/<version>/bin, the
# same order as the tests (packages/adapters/tool-sql/src/testing/postgres-test-server.ts).
set -euo pipefail

find_bin_dir() {
  if [[ -n "${HALO_POSTGRES_BIN_DIR:-}" && -x "$HALO_POSTGRES_BIN_DIR/initdb" && -x "$HALO_POSTGRES_BIN_DIR/pg_ctl" ]]; then
    echo "$HALO_POSTGRES_BIN_DIR"
    return 0
  fi
  local directory
  local path_directories
  IFS=: read -r -a path_directories <<<"${PATH:-}"
  for directory in "${path_directories[@]}"; do
    if [[ -n "$directory" && -x "$directory/initdb" && -x "$directory/pg_ctl" ]]; then
      echo "$directory"
      return 0
    fi
  done
  # Debian installs the server outside PATH, one directory per major version; take the newest.
  local version
  for version in $(ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -rn); do
    directory="/usr/lib/postgresql/$version/bin"
    if [[ -x "$directory/initdb" && -x "$directory/pg_ctl" ]]; then
      echo "$directory"
      return 0
    fi
  done
  return 1
}

report() {
  local directory="$1"
  local version
  version="$("$directory/pg_ctl" --version 2>/dev/null || echo "pg_ctl (version unknown)")"
  echo "[install-postgres] PostgreSQL server binaries: $directory ($version)"
}

if directory="$(find_bin_dir)"; then
  report "$directory"
  exit 0
fi

echo "[install-postgres] initdb/pg_ctl not found"
bash "$(dirname "$0")/apt-install.sh" install-postgres \
  "install the PostgreSQL server yourself and set HALO_POSTGRES_BIN_DIR to its bin directory, or set HALO_TEST_POSTGRES_URL to a server the tests may use." postgresql

if directory="$(find_bin_dir)"; then
  report "$directory"
  exit 0
fi
echo "[install-postgres] the 'postgresql' package is installed but initdb/pg_ctl are still not found" >&2
echo "[install-postgres] (looked in HALO_POSTGRES_BIN_DIR, PATH and /usr/lib/postgresql/*/bin)" >&2
exit 1
