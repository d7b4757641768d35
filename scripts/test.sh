#!/usr/bin/env bash
# What `npm test` runs: the real services (only those not already running), the TypeScript build, every
# test file once with Node's own runner, then the services this run started are stopped again.
#
#   GATEWAY_KEEP_SERVICES=1  leave the services running afterwards (faster next run; stop with services:down)
#   GATEWAY_ETCD_CLUSTER=3   run etcd as a 3-member loopback cluster
#   GATEWAY_TEST_TIMEOUT_MS  per-test timeout (default 120000)
#
# Several test runs may share one machine (and one set of services): each holds a shared lock for its
# whole run, and only the last run to finish stops the services that test runs started. Services a
# developer started with `npm run services:up` are never stopped here.
set -uo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"
STATE_DIR=${GATEWAY_SERVICES_DIR:-/tmp/authorisation-gateway-services}
# Bounded so a hung test fails the run instead of holding the shared machine; Cassandra DDL is the
# slowest thing a test normally waits for, a few hundred ms.
TEST_TIMEOUT_MS=${GATEWAY_TEST_TIMEOUT_MS:-120000}

say() { printf 'test: %s\n' "$*"; }

mkdir -p "$STATE_DIR"
exec 8>"$STATE_DIR/test-runs.lock"
flock -s 8

stop_services_of_test_runs() {
  trap - EXIT
  if [[ ${GATEWAY_KEEP_SERVICES:-0} == 1 ]]; then
    say "GATEWAY_KEEP_SERVICES=1: services left running (bash scripts/services.sh down stops them)"
    return
  fi
  # Exclusive only when no other run still holds its shared lock: the last run out cleans up.
  if flock -n -x 8; then
    GATEWAY_SERVICES_OWNER=test-run bash scripts/services.sh down --owner test-run
  else
    say "another test run is still using the services; it will stop them"
  fi
  flock -u 8
}
trap stop_services_of_test_runs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------ services
if ! GATEWAY_SERVICES_OWNER=test-run bash scripts/services.sh up; then
  say "services did not start; see the message above (bash scripts/services.sh status)"
  exit 1
fi
# Endpoints of what is running (e.g. three etcd members), unless the caller chose them.
eval "$(bash scripts/services.sh env)"

# ------------------------------------------------------------------------------------------------- build
# tsc emits even when it finds type errors; the tests still run so one broken area does not hide the
# others' results, but the run fails at the end.
build_status=0
# `8>&-` here and below: a process left behind by a build or a test must not keep holding this run's
# lock, or no later run could ever stop the services.
npm run build --silent 8>&- || build_status=$?
if ((build_status != 0)); then
  say "TYPE CHECK FAILED (tsc exit $build_status); running the tests on what was emitted, the run will fail"
fi

# ------------------------------------------------------------------------------------------------- tests
# Test files are found from their .ts sources rather than by scanning dist/: dist may still hold the
# output of a test that was deleted or renamed, and Node 20's directory mode would also run every .js
# under a folder named test/ (helpers included).
test_files=()
missing_outputs=0
while IFS= read -r source; do
  compiled="dist/${source#./}"
  compiled="${compiled%.ts}.js"
  if [[ -f $compiled ]]; then
    test_files+=("$compiled")
  else
    say "no compiled output for $source (expected $compiled)"
    missing_outputs=1
  fi
done < <(find . \( -path ./node_modules -o -path ./dist -o -path ./.git \) -prune -o -name '*.test.ts' -print | sort)

if ((${#test_files[@]} == 0)); then
  say "no test files found"
  exit 1
fi
say "running ${#test_files[@]} test files"
# One file at a time: the services and the 2 cores are shared, and parallel files would fight over them.
# Not --test-force-exit: on Node 20.20 it ends a file while later suites are still queued, and they
# are dropped without a word (measured: codec.test.js ran 49-61 of its 61 tests). A file whose
# process does not exit after its tests fails by the timeout instead, which is what CI must see.
node --test --test-concurrency=1 --test-timeout="$TEST_TIMEOUT_MS" "${test_files[@]}" 8>&-
test_status=$?

# ------------------------------------------------------------------------------------------ extra checks
# Further checks over the built tree go here (for example `promtool test rules` for the alert rules);
# fold their exit status into test_status.

if ((test_status == 0 && (build_status != 0 || missing_outputs != 0))); then
  say "tests passed, but the build failed or a test file has no compiled output (see above)"
  exit 1
fi
exit "$test_status"
