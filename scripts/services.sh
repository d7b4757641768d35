#!/usr/bin/env bash
# Real Redis, etcd and Cassandra for the gateway's integration tests: installed when missing, started on
# loopback on non-default ports with throwaway data, stopped again. No Docker: the test machines have none.
#
#   bash scripts/services.sh up [--etcd-cluster] [redis|etcd|cassandra ...]
#   bash scripts/services.sh down [--owner manual|test-run] [redis|etcd|cassandra ...]
#   bash scripts/services.sh status
#   bash scripts/services.sh env        # prints the GATEWAY_* endpoint variables for the running services
#
# Every process this script starts gets a pid file in $GATEWAY_SERVICES_DIR; `down` only ever signals a pid
# from such a file, and only after checking the process is still the one we started (pid reuse). A service
# already answering on its port without our pid file is reported as external and never touched.
# See docs/services.md.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${GATEWAY_SERVICES_DIR:-/tmp/authorisation-gateway-services}
# Who asked for the services: "manual" (a developer) or "test-run" (scripts/test.sh, which stops what test
# runs started once the last concurrent run ends).
OWNER=${GATEWAY_SERVICES_OWNER:-manual}

CASSANDRA_VERSION=5.0.8
CASSANDRA_POM="$REPO_DIR/scripts/cassandra/pom.xml"
CASSANDRA_CONF_DIR="$REPO_DIR/scripts/cassandra/conf"
# Outside the repo and the throwaway state dir, so the ~70 MB of jars survive `down`, `git clean` and reboots.
CASSANDRA_LIB=${XDG_CACHE_HOME:-$HOME/.cache}/authorisation-gateway/cassandra-$CASSANDRA_VERSION/lib
# Pinned: an unpinned `dependency:` prefix takes whatever plugin version the local metadata offers.
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

REDIS_PORT=16379
ETCD_CLIENT_PORTS=(12379 22379 32379)
ETCD_PEER_PORTS=(12380 22380 32380)
CASSANDRA_NATIVE_PORT=19042
CASSANDRA_STORAGE_PORT=17000
CASSANDRA_DC=datacenter1
# A cold first boot on 2 shared cores takes well under a minute; 180 s leaves room for a busy machine
# without letting a wedged node hold a test run for long.
CASSANDRA_READY_TIMEOUT_S=${GATEWAY_CASSANDRA_READY_TIMEOUT:-180}
# Heap and G1 pause target of the test node (docs/services.md says why these values).
CASSANDRA_HEAP=${GATEWAY_CASSANDRA_HEAP:-2G}
CASSANDRA_GC_PAUSE_TARGET_MS=${GATEWAY_CASSANDRA_GC_PAUSE_TARGET_MS:-20}
# Redis and etcd are ready in well under a second; 15 s only matters on a heavily loaded machine.
SMALL_SERVICE_READY_TIMEOUT_S=15

ALL_SERVICES=(redis etcd cassandra)

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
seconds_since() { local start=$1 end; end=$(now_ms); printf '%d.%01d' $(((end - start) / 1000)) $((((end - start) % 1000) / 100)); }

usage() {
  sed -n '5,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 64
}

# ---------------------------------------------------------------------------------------------- processes

pid_file() { printf '%s/%s.pid' "$STATE_DIR" "$1"; }
owner_file() { printf '%s/%s.owner' "$STATE_DIR" "$1"; }

# The text a unit's command line must contain for its pid to still be ours. Redis rewrites its process
# title to "redis-server 127.0.0.1:PORT"; etcd and java keep their arguments.
unit_signature() {
  case $1 in
    redis) printf 'redis-server 127.0.0.1:%s' "$REDIS_PORT" ;;
    etcd[123]) printf -- '--data-dir %s/data/%s' "$STATE_DIR" "$1" ;;
    cassandra) printf -- '-Dcassandra.storagedir=%s/data/cassandra' "$STATE_DIR" ;;
  esac
}

# Prints the pid of a unit this script started and that is still alive; fails otherwise.
unit_pid() {
  local unit=$1 file pid
  file=$(pid_file "$unit")
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(unit_signature "$unit")" || return 1
  printf '%s' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts a long-lived process detached from this script: its own session (a Ctrl-C or a job-control kill
# of the caller must not take it down half-way), no inherited lock descriptors (fd 8/9 hold flock locks
# that must be released when the caller exits), output to its log.
spawn_detached() {
  local log=$1
  shift
  (exec setsid "$@" </dev/null >>"$log" 2>&1 8>&- 9>&-) &
  printf '%s' "$!"
}

# Gone or a zombie: in a container whose init does not reap, a killed process stays a zombie for ever.
process_gone() {
  local state
  kill -0 "$1" 2>/dev/null || return 0
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ $state == Z ]]
}

# SIGTERM, then SIGKILL after the grace period: all data here is throwaway.
stop_unit() {
  local unit=$1 grace_s=$2 pid waited=0
  if pid=$(unit_pid "$unit"); then
    kill -TERM "$pid" 2>/dev/null || true
    while ! process_gone "$pid" && ((waited < grace_s * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if ! process_gone "$pid"; then
      say "$unit (pid $pid) ignored SIGTERM for ${grace_s}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      waited=0
      # SIGKILL cannot be ignored; the bound only guards against a process stuck in the kernel (D state).
      while ! process_gone "$pid" && ((waited < 100)); do
        sleep 0.1
        waited=$((waited + 1))
      done
      process_gone "$pid" || die "$unit (pid $pid) survived SIGKILL for 10 s; pid file kept"
    fi
    say "stopped $unit (pid $pid)"
  fi
  rm -f "$(pid_file "$unit")"
  rm -rf "${STATE_DIR:?}/data/$unit"
}

# ------------------------------------------------------------------------------------------- installation

java17_home() {
  local candidate
  # An explicit choice first, then Debian's own 17, then anything under /usr/lib/jvm that says 17.
  # Never a newer JDK: Cassandra 5.0 has no jvm21+ options and this machine also carries a Temurin 25.
  for candidate in "${GATEWAY_JAVA17_HOME:-}" "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture 2>/dev/null || echo amd64)" /usr/lib/jvm/*; do
    [[ -n $candidate && -x $candidate/bin/java ]] || continue
    if "$candidate/bin/java" -version 2>&1 | head -1 | grep -q 'version "17\.'; then
      printf '%s' "$candidate"
      return 0
    fi
  done
  return 1
}

cassandra_lib_complete() {
  [[ -f $CASSANDRA_LIB/.complete && -f $CASSANDRA_LIB/cassandra-all-$CASSANDRA_VERSION.jar ]] &&
    [[ $(<"$CASSANDRA_LIB/.complete") == "$(sha256sum "$CASSANDRA_POM" | cut -d' ' -f1)" ]]
}

# Installs the Debian packages the requested services need, with one `apt-get update`.
install_missing_packages() {
  local wants_redis=$1 wants_etcd=$2 wants_cassandra=$3
  local -a packages=()
  if ((wants_redis)); then
    command -v redis-server >/dev/null || packages+=(redis-server)
    command -v redis-cli >/dev/null || packages+=(redis-tools)
  fi
  if ((wants_etcd)); then
    command -v etcd >/dev/null || packages+=(etcd-server)
    command -v etcdctl >/dev/null || packages+=(etcd-client)
  fi
  if ((wants_cassandra)); then
    java17_home >/dev/null || packages+=(openjdk-17-jdk-headless)
    cassandra_lib_complete || command -v mvn >/dev/null || packages+=(maven)
  fi
  # Test tools the suite needs besides the services: openssl makes the TLS tests' certificates.
  command -v openssl >/dev/null || packages+=(openssl)
  ((${#packages[@]} > 0)) || return 0

  local -a sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      die "missing packages: ${packages[*]}. Install them as root: apt-get update && apt-get install -y ${packages[*]}"
    fi
  fi
  say "installing ${packages[*]} (apt-get)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
    die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >/dev/null ||
    die "apt-get install ${packages[*]} failed"
  local tool
  for tool in redis-server redis-cli etcd etcdctl mvn; do
    case $tool in
      redis-*) ((wants_redis)) || continue ;;
      etcd*) ((wants_etcd)) || continue ;;
      mvn) ((wants_cassandra)) && ! cassandra_lib_complete || continue ;;
    esac
    command -v "$tool" >/dev/null || die "installed ${packages[*]}, but '$tool' is still not on PATH ($PATH)"
  done
}

# cassandra-all and its runtime dependencies from Maven Central into the cache, once.
install_cassandra_lib() {
  if cassandra_lib_complete; then
    return 0
  fi
  local java_home=$1 started staging
  started=$(now_ms)
  staging="$CASSANDRA_LIB.partial.$$"
  rm -rf "$staging"
  mkdir -p "$staging"
  say "fetching cassandra-all $CASSANDRA_VERSION and its dependencies with Maven into $CASSANDRA_LIB"
  if ! JAVA_HOME=$java_home mvn -B -q -f "$CASSANDRA_POM" \
    "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$staging" >"$staging.log" 2>&1; then
    tail -n 30 "$staging.log" >&2
    rm -rf "$staging"
    die "Maven could not fetch cassandra-all $CASSANDRA_VERSION (log above)"
  fi
  [[ -f $staging/cassandra-all-$CASSANDRA_VERSION.jar ]] || die "Maven finished but cassandra-all-$CASSANDRA_VERSION.jar is missing"
  # Swapped in whole, marked with the pom's hash: a half-copied lib (interrupted download) or a lib for
  # an older pom is never taken for complete.
  sha256sum "$CASSANDRA_POM" | cut -d' ' -f1 >"$staging/.complete"
  rm -rf "$CASSANDRA_LIB" "$staging.log"
  mkdir -p "$(dirname "$CASSANDRA_LIB")"
  mv "$staging" "$CASSANDRA_LIB"
  say "cassandra jars ready: $(find "$CASSANDRA_LIB" -name '*.jar' | wc -l) jars in $(seconds_since "$started") s"
}

# ------------------------------------------------------------------------------------------------- redis

# redis-cli has no reply timeout: a silent listener on the port would hang it for ever.
redis_answers() { [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_up() {
  local pid started waited=0
  if pid=$(unit_pid redis); then
    say "redis already running (pid $pid, started by this script), left alone"
    return 1
  fi
  if port_open "$REDIS_PORT"; then
    redis_answers || die "port $REDIS_PORT is taken by something that is not Redis; free it and retry"
    say "redis already answering on 127.0.0.1:$REDIS_PORT (not started by this script), left alone"
    return 1
  fi
  started=$(now_ms)
  rm -rf "$STATE_DIR/data/redis"
  mkdir -p "$STATE_DIR/data/redis"
  # No persistence: test data is throwaway, and fsyncs would only slow the tests.
  pid=$(spawn_detached "$STATE_DIR/logs/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save '' --appendonly no --daemonize no --dir "$STATE_DIR/data/redis")
  printf '%s' "$pid" >"$(pid_file redis)"
  printf '%s' "$OWNER" >"$(owner_file redis)"
  until redis_answers; do
    if ! kill -0 "$pid" 2>/dev/null || ((waited >= SMALL_SERVICE_READY_TIMEOUT_S * 10)); then
      tail -n 20 "$STATE_DIR/logs/redis.log" >&2
      stop_unit redis 2
      die "redis did not answer PING on 127.0.0.1:$REDIS_PORT (log above: $STATE_DIR/logs/redis.log)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  say "redis ready on 127.0.0.1:$REDIS_PORT (pid $pid) in $(seconds_since "$started") s"
}

# -------------------------------------------------------------------------------------------------- etcd

etcd_mode() { [[ -f $STATE_DIR/etcd.mode ]] && cat "$STATE_DIR/etcd.mode" || printf 1; }

etcd_endpoints() {
  local members=$1 i list=()
  for ((i = 0; i < members; i++)); do list+=("http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}"); done
  local IFS=,
  printf '%s' "${list[*]}"
}

etcd_healthy() { ETCDCTL_API=3 etcdctl --endpoints="$1" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1; }

# Prints how many of our etcd members are alive.
etcd_alive_members() {
  local i alive=0
  for i in 1 2 3; do unit_pid "etcd$i" >/dev/null && alive=$((alive + 1)); done
  printf '%s' "$alive"
}

etcd_up() {
  local members=$1 alive running_mode started i pid waited=0 cluster="" token
  alive=$(etcd_alive_members)
  running_mode=$(etcd_mode)
  if ((alive > 0)); then
    if ((alive == running_mode && running_mode == members)); then
      say "etcd already running ($members member(s), started by this script), left alone"
      return 1
    fi
    if ((alive != running_mode)); then
      die "etcd is partly running ($alive of $running_mode members alive); run 'bash scripts/services.sh down etcd' and retry"
    fi
    die "etcd runs with $running_mode member(s) but $members were asked for; run 'bash scripts/services.sh down etcd' first"
  fi
  for ((i = 0; i < members; i++)); do
    if port_open "${ETCD_CLIENT_PORTS[i]}"; then
      if ((members == 1)) && etcd_healthy "http://127.0.0.1:${ETCD_CLIENT_PORTS[0]}"; then
        say "etcd already answering on 127.0.0.1:${ETCD_CLIENT_PORTS[0]} (not started by this script), left alone"
        return 1
      fi
      die "port ${ETCD_CLIENT_PORTS[i]} is taken by another process; free it and retry"
    fi
    port_open "${ETCD_PEER_PORTS[i]}" && die "port ${ETCD_PEER_PORTS[i]} is taken by another process; free it and retry"
  done

  started=$(now_ms)
  for ((i = 0; i < members; i++)); do
    cluster+="${cluster:+,}etcd$((i + 1))=http://127.0.0.1:${ETCD_PEER_PORTS[i]}"
  done
  # Unique per start, so a member can never join a stale cluster left over from an earlier run.
  token="gateway-test-$(now_ms)"
  printf '%s' "$members" >"$STATE_DIR/etcd.mode"
  for ((i = 0; i < members; i++)); do
    local unit="etcd$((i + 1))"
    rm -rf "${STATE_DIR:?}/data/$unit"
    mkdir -p "$STATE_DIR/data/$unit"
    pid=$(spawn_detached "$STATE_DIR/logs/$unit.log" etcd --name "$unit" --data-dir "$STATE_DIR/data/$unit" \
      --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}" \
      --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}" \
      --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[i]}" \
      --initial-cluster "$cluster" --initial-cluster-token "$token" --initial-cluster-state new \
      --logger zap --log-outputs stderr)
    printf '%s' "$pid" >"$(pid_file "$unit")"
    printf '%s' "$OWNER" >"$(owner_file "$unit")"
  done
  until etcd_healthy "$(etcd_endpoints "$members")"; do
    if (($(etcd_alive_members) < members)) || ((waited >= SMALL_SERVICE_READY_TIMEOUT_S * 10)); then
      for ((i = 1; i <= members; i++)); do
        printf -- '--- %s\n' "$STATE_DIR/logs/etcd$i.log" >&2
        tail -n 15 "$STATE_DIR/logs/etcd$i.log" >&2
      done
      etcd_down
      die "etcd ($members member(s)) did not become healthy (logs above)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  say "etcd ready: $members member(s), clients $(etcd_endpoints "$members") in $(seconds_since "$started") s"
}

etcd_down() {
  local i
  # SIGTERM on the last member of a cluster waits ~7 s for a leadership transfer that cannot happen;
  # the data is throwaway, so 2 s of grace is enough.
  for i in 1 2 3; do
    [[ -f $(pid_file "etcd$i") ]] && stop_unit "etcd$i" 2
  done
  rm -f "$STATE_DIR/etcd.mode"
}

# --------------------------------------------------------------------------------------------- cassandra

cassandra_answers() {
  node "$REPO_DIR/scripts/cassandra/wait-for-cql.js" "127.0.0.1:$CASSANDRA_NATIVE_PORT" "$CASSANDRA_DC" "${1:-0}" ${2:+"$2"}
}

cassandra_up() {
  local java_home=$1 pid started release_version
  if pid=$(unit_pid cassandra); then
    say "cassandra already running (pid $pid, started by this script), left alone"
    return 1
  fi
  if port_open "$CASSANDRA_NATIVE_PORT"; then
    cassandra_answers 5 >/dev/null 2>&1 || die "port $CASSANDRA_NATIVE_PORT is taken by something that does not answer CQL; free it and retry"
    say "cassandra already answering CQL on 127.0.0.1:$CASSANDRA_NATIVE_PORT (not started by this script), left alone"
    return 1
  fi
  port_open "$CASSANDRA_STORAGE_PORT" && die "port $CASSANDRA_STORAGE_PORT (Cassandra storage) is taken by another process; free it and retry"

  started=$(now_ms)
  local data="$STATE_DIR/data/cassandra" log="$STATE_DIR/logs/cassandra.log"
  rm -rf "$data"
  mkdir -p "$data/tmp" "$data/triggers"
  : >"$log"
  local -a args=("@$REPO_DIR/scripts/cassandra/jvm17-server.args")
  [[ -x $java_home/bin/javac ]] && args+=("@$REPO_DIR/scripts/cassandra/jvm17-jdk-only.args")
  args+=(
    -Xms"$CASSANDRA_HEAP" -Xmx"$CASSANDRA_HEAP"
    # Short young-generation pauses: the gateway gives a decision's writes 35 ms, and with the
    # stock 300 ms target G1 paused Cassandra for 40-77 ms several times a second under load.
    -XX:MaxGCPauseMillis="$CASSANDRA_GC_PAUSE_TARGET_MS"
    -javaagent:"$CASSANDRA_LIB/jamm-0.4.0.jar"
    -Dcassandra.config="file://$CASSANDRA_CONF_DIR/cassandra.yaml"
    -Dcassandra.storagedir="$data"
    -Dcassandra.logdir="$STATE_DIR/logs"
    # Keeps stdout/stderr open after start-up, so the log keeps growing.
    -Dcassandra-foreground=yes
    # Fast start for a single throwaway node (docs/services.md lists what each one skips).
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.superuser_setup_delay_ms=0
    -Dcassandra.unsafesystem=true
    -Dcassandra.test.flush_local_schema_changes=false
    # Native libraries (JNA, netty, zstd, lz4, snappy) are unpacked here; it goes away with the data.
    -Djava.io.tmpdir="$data/tmp"
    # Without an existing trigger directory every start logs a warning; no test uses triggers.
    -Dcassandra.triggers_dir="$data/triggers"
    -cp "$CASSANDRA_CONF_DIR:$CASSANDRA_LIB/*"
    org.apache.cassandra.service.CassandraDaemon
  )
  # Cassandra mlockall()s its whole address space when it may, which as root commits the full 1 GiB heap
  # at once. That guards production nodes against swap; a throwaway test node on a shared machine should
  # not pin the memory. Without CAP_IPC_LOCK root is held to RLIMIT_MEMLOCK like any user, mlockall
  # fails harmlessly and Cassandra logs one warning.
  local -a launcher=()
  ((EUID == 0)) && command -v setpriv >/dev/null && launcher=(setpriv --bounding-set -ipc_lock)
  pid=$(spawn_detached "$log" "${launcher[@]}" "$java_home/bin/java" "${args[@]}")
  printf '%s' "$pid" >"$(pid_file cassandra)"
  printf '%s' "$OWNER" >"$(owner_file cassandra)"
  say "cassandra starting (pid $pid, Java 17 from $java_home, log $log); waiting up to ${CASSANDRA_READY_TIMEOUT_S} s for CQL"
  if ! release_version=$(cassandra_answers "$CASSANDRA_READY_TIMEOUT_S" "$pid"); then
    printf -- '--- last 60 lines of %s (long lines cut at 300 characters)\n' "$log" >&2
    tail -n 60 "$log" | cut -c1-300 >&2
    stop_unit cassandra 5
    die "cassandra did not answer CQL on 127.0.0.1:$CASSANDRA_NATIVE_PORT within ${CASSANDRA_READY_TIMEOUT_S} s (log above)"
  fi
  say "cassandra $release_version ready on 127.0.0.1:$CASSANDRA_NATIVE_PORT (pid $pid) in $(seconds_since "$started") s"
}

# ------------------------------------------------------------------------------------------------ commands

with_lock() {
  mkdir -p "$STATE_DIR/logs" "$STATE_DIR/data"
  exec 9>"$STATE_DIR/services.lock"
  # Serialises concurrent up/down (parallel test runs): the second waits, then finds the services running.
  # 600 s covers a cold Maven download plus a Cassandra start by another caller.
  flock -w 600 9 || die "another services.sh has held $STATE_DIR/services.lock for 10 minutes"
}

# Checks service names (in this shell, so die exits); all services when none given.
select_services() {
  local name
  SERVICES=("$@")
  ((${#SERVICES[@]} > 0)) || SERVICES=("${ALL_SERVICES[@]}")
  for name in "${SERVICES[@]}"; do
    case $name in
      redis | etcd | cassandra) ;;
      *) die "unknown service '$name' (expected: ${ALL_SERVICES[*]})" ;;
    esac
  done
}

cmd_up() {
  local etcd_members=1 started_any=() kept=() java_home="" service unit
  [[ ${GATEWAY_ETCD_CLUSTER:-1} == 3 ]] && etcd_members=3
  local -a names=()
  while (($# > 0)); do
    case $1 in
      --etcd-cluster) etcd_members=3 ;;
      -*) die "unknown option $1" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  select_services "${names[@]}"
  local -a services=("${SERVICES[@]}")
  local wants_redis=0 wants_etcd=0 wants_cassandra=0
  for service in "${services[@]}"; do
    case $service in redis) wants_redis=1 ;; etcd) wants_etcd=1 ;; cassandra) wants_cassandra=1 ;; esac
  done

  with_lock
  install_missing_packages "$wants_redis" "$wants_etcd" "$wants_cassandra"
  if ((wants_cassandra)); then
    java_home=$(java17_home) || die "no Java 17 found (looked in GATEWAY_JAVA17_HOME and /usr/lib/jvm); apt-get install -y openjdk-17-jdk-headless"
    install_cassandra_lib "$java_home"
    [[ -f $REPO_DIR/node_modules/cassandra-driver/package.json ]] ||
      die "node_modules/cassandra-driver is missing (needed to check Cassandra answers CQL); run 'npm ci' first"
  fi

  for service in "${services[@]}"; do
    case $service in
      redis) if redis_up; then started_any+=(redis); else kept+=(redis); fi ;;
      etcd) if etcd_up "$etcd_members"; then started_any+=(etcd); else kept+=(etcd); fi ;;
      cassandra) if cassandra_up "$java_home"; then started_any+=(cassandra); else kept+=(cassandra); fi ;;
    esac
  done
  # A developer's explicit `up` adopts services a test run started, so that run's clean-up leaves them.
  if [[ $OWNER == manual ]]; then
    for service in "${kept[@]}"; do
      for unit in $(service_units "$service"); do
        [[ -f $(owner_file "$unit") ]] && printf manual >"$(owner_file "$unit")"
      done
    done
  fi
  say "started: ${started_any[*]:-none}; already running: ${kept[*]:-none}"
}

service_units() {
  case $1 in
    etcd) printf 'etcd1 etcd2 etcd3' ;;
    *) printf '%s' "$1" ;;
  esac
}

cmd_down() {
  local owner_filter="" service unit
  local -a names=()
  while (($# > 0)); do
    case $1 in
      --owner)
        owner_filter=${2:-}
        [[ $owner_filter == manual || $owner_filter == test-run ]] || die "--owner takes manual or test-run"
        shift
        ;;
      -*) die "unknown option $1" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  select_services "${names[@]}"
  local -a services=("${SERVICES[@]}")
  with_lock
  for service in "${services[@]}"; do
    if [[ -n $owner_filter ]]; then
      local first_unit
      first_unit=$(service_units "$service" | cut -d' ' -f1)
      [[ -f $(owner_file "$first_unit") && $(<"$(owner_file "$first_unit")") == "$owner_filter" ]] || continue
    fi
    case $service in
      redis) stop_unit redis 5 ;;
      etcd) etcd_down ;;
      # Cassandra flushes on SIGTERM; 20 s is plenty for test-sized data, the rest is throwaway anyway.
      cassandra) stop_unit cassandra 20 ;;
    esac
    for unit in $(service_units "$service"); do rm -f "$(owner_file "$unit")"; done
  done
}

unit_state() {
  local unit=$1 port=$2 pid owner=""
  [[ -f $(owner_file "$unit") ]] && owner=$(<"$(owner_file "$unit")")
  if pid=$(unit_pid "$unit"); then
    if port_open "$port"; then
      printf 'running   pid %-8s owner %s' "$pid" "${owner:-?}"
    else
      printf 'starting  pid %-8s (port %s not open yet)' "$pid" "$port"
    fi
  elif port_open "$port"; then
    printf 'external  (port %s answers, not started by this script)' "$port"
  else
    printf 'stopped'
  fi
}

cmd_status() {
  local members i
  printf '%-10s %-22s %s\n' redis "127.0.0.1:$REDIS_PORT" "$(unit_state redis "$REDIS_PORT")"
  members=$(etcd_mode)
  for ((i = 0; i < members; i++)); do
    printf '%-10s %-22s %s\n' "etcd$((i + 1))" "127.0.0.1:${ETCD_CLIENT_PORTS[i]}" "$(unit_state "etcd$((i + 1))" "${ETCD_CLIENT_PORTS[i]}")"
  done
  printf '%-10s %-22s %s\n' cassandra "127.0.0.1:$CASSANDRA_NATIVE_PORT" "$(unit_state cassandra "$CASSANDRA_NATIVE_PORT")"
  printf 'state dir: %s\n' "$STATE_DIR"
}

# Prints `export NAME='value'`, safe to eval and readable to a person.
print_export() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# Endpoint variables for the running services, keeping any value the caller already set.
cmd_env() {
  print_export GATEWAY_REDIS_URL "${GATEWAY_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"
  print_export GATEWAY_ETCD_ENDPOINTS "${GATEWAY_ETCD_ENDPOINTS:-$(etcd_endpoints "$(etcd_mode)")}"
  print_export GATEWAY_CASSANDRA_CONTACT_POINTS "${GATEWAY_CASSANDRA_CONTACT_POINTS:-127.0.0.1:$CASSANDRA_NATIVE_PORT}"
  print_export GATEWAY_CASSANDRA_DC "${GATEWAY_CASSANDRA_DC:-$CASSANDRA_DC}"
}

command=${1:-}
[[ -n $command ]] || usage
shift
case $command in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) usage ;;
esac
