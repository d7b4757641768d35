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
# shellcheck source=lib/debian-package.sh
source "$REPO_DIR/scripts/lib/debian-package.sh"

command -v docker-compose >/dev/null 2>&1 || install_debian_package docker-compose
cd "$REPO_DIR"
exec docker-compose --file docker-compose.yml --project-directory "$REPO_DIR" config
