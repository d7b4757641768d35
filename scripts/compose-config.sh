#!/usr/bin/env bash
# Prints docker-compose.yml as Docker Compose itself resolves it (`docker-compose config`): the file
# validated against Compose's schema, variables interpolated, relative paths made absolute. This
# needs no Docker engine, so the project's machines (which have none) can still check that the
# compose stack is well formed and wired to the repository's Prometheus and Grafana files.
# Compose comes from the Debian package `docker-compose` (1.29); it is installed when missing (as
# root, or with password-less sudo), else the command to run is printed.
#
#   bash scripts/compose-config.sh            # the resolved file on stdout; exit status as Compose's
#
# npm test runs it through test/alerts/compose-stack.test.ts.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'compose-config: %s\n' "$*" >&2; }

install_compose() {
  local runner=()
  if ((EUID != 0)); then
    if sudo -n true 2>/dev/null; then
      runner=(sudo -n)
    else
      say "docker-compose is missing; install it with: sudo apt-get install -y docker-compose"
      exit 1
    fi
  fi
  say "docker-compose is missing: installing the Debian package docker-compose"
  if ! "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >&2; then
    "${runner[@]}" apt-get update >&2
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >&2
  fi
}

command -v docker-compose >/dev/null 2>&1 || install_compose
cd "$REPO_DIR"
exec docker-compose --file docker-compose.yml --project-directory "$REPO_DIR" config
