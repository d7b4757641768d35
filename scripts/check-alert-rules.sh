#!/usr/bin/env bash
# Checks the Prometheus alert rules in config/alerts/: `promtool check rules` on every *.rules.yml
# (syntax, PromQL, templates) and `promtool test rules` on every *.test.yml (the unit tests that
# show each alert firing and staying quiet). promtool comes with the Debian package `prometheus`;
# it is installed when missing (as root, or with password-less sudo), else the command to run is
# printed. Exit status: 0 when every check and test passes.
#
#   bash scripts/check-alert-rules.sh
#   bash scripts/check-alert-rules.sh --check FILE...   # only `promtool check rules FILE...` (the
#                                                      # dashboard test checks its PromQL this way)
#   bash scripts/check-alert-rules.sh --prometheus-path # installs the package when either binary is
#                                                      # missing, prints the server's path (the
#                                                      # scrape test runs a real Prometheus)
#
# npm test runs it through test/alerts/alert-rules.test.ts.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RULES_DIR="$REPO_DIR/config/alerts"

say() { printf 'check-alert-rules: %s\n' "$*" >&2; }
# shellcheck source=lib/debian-package.sh
source "$REPO_DIR/scripts/lib/debian-package.sh"

# The package also ships a prometheus service: on a machine with an init system it may start on
# :9090 (`systemctl disable --now prometheus` if unwanted). The scrape test runs the server on a port
# of its own.
install_promtool() { install_debian_package prometheus; }

if [[ ${1:-} == --prometheus-path ]]; then
  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || install_promtool
  command -v prometheus
  exit 0
fi

command -v promtool >/dev/null 2>&1 || install_promtool

if [[ ${1:-} == --check ]]; then
  shift
  exec promtool check rules "$@"
fi

shopt -s nullglob
rule_files=("$RULES_DIR"/*.rules.yml)
test_files=("$RULES_DIR"/*.test.yml)
if ((${#rule_files[@]} == 0)); then
  say "no *.rules.yml in $RULES_DIR"
  exit 1
fi
if ((${#test_files[@]} == 0)); then
  say "no *.test.yml in $RULES_DIR: every rule file needs unit tests"
  exit 1
fi

cd "$RULES_DIR"
promtool check rules "${rule_files[@]##*/}"
promtool test rules "${test_files[@]##*/}"
