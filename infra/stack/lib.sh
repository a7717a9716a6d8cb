# shellcheck shell=bash
# Shared helpers of the local service stack (sourced by scripts/stack.sh and scripts/kafka-tool.sh):
# settings with their env overrides, messages, process-group control and health waiting.
# Every service runs in its own session (setsid), so its pid is also its process-group id and
# stop/kill reach the whole tree (Postgres backends, JVM helpers).

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_INFRA="$STACK_ROOT/infra/stack"
STACK_STATE=${METRONIS_STACK_DIR:-$STACK_ROOT/.stack}
STACK_CACHE=${METRONIS_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metronis}

KAFKA_VERSION=4.1.1
APICURIO_VERSION=3.3.3

KAFKA_PORT=${METRONIS_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${METRONIS_KAFKA_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${METRONIS_REGISTRY_PORT:-18081}
REGISTRY_MANAGEMENT_PORT=${METRONIS_REGISTRY_MANAGEMENT_PORT:-18082}
PG_PORT=${METRONIS_PG_PORT:-15432}
CH_HTTP_PORT=${METRONIS_CH_HTTP_PORT:-18123}
CH_TCP_PORT=${METRONIS_CH_TCP_PORT:-19000}
REDIS_PORT=${METRONIS_REDIS_PORT:-16379}

KAFKA_HEAP=${METRONIS_KAFKA_HEAP:--Xms256m -Xmx512m}
REGISTRY_HEAP=${METRONIS_REGISTRY_HEAP:--Xms128m -Xmx512m}
# seconds to wait for one service to become healthy
STACK_TIMEOUT=${METRONIS_STACK_TIMEOUT:-120}

KAFKA_LIBS="$STACK_CACHE/kafka-$KAFKA_VERSION/libs"

say() { printf '%s\n' "[stack] $*" >&2; }
die() { printf '%s\n' "[stack] error: $*" >&2; exit 1; }

# need_cmd <command> <what it is for>
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH; it is needed for $2"
}

# port_open <port>: something accepts TCP connections on 127.0.0.1:<port>
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive <pid>: the process exists and is not a zombie waiting to be reaped. Each service's
# <svc>_running also matches the pid's command line against its own config path or port: pids
# are reused quickly on a busy machine, and a stale pid file must not pass for a live service.
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

# read_pid <file>: the first line of a pid file, empty when missing
read_pid() {
  [[ -f $1 ]] && head -n 1 "$1" 2>/dev/null | tr -dc '0-9' || true
}

# launch <pidfile> <logfile> <command...>: run in a new session, in the background, detached from
# this shell's stdin/stdout; records the pid (= process-group id).
launch() {
  local pidfile=$1 logfile=$2
  shift 2
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  # a background child of a non-interactive shell is not a group leader, so setsid execs in place
  # and $! is the service's own pid.
  # fd 9 is the stack's command lock (scripts/stack.sh): a service must not inherit and hold it
  setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

# signal_group <signal> <pid>: signal the process group led by pid (falls back to the pid alone)
signal_group() {
  kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true
}

# stop_group <name> <pid> [grace seconds]: TERM, wait, then KILL the group
stop_group() {
  local name=$1 pid=$2 grace=${3:-30} i
  signal_group TERM "$pid"
  for ((i = 0; i < grace * 5; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.2
  done
  say "$name did not stop within ${grace}s after SIGTERM; sending SIGKILL"
  signal_group KILL "$pid"
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.2
  done
  die "$name (pid $pid) survived SIGKILL"
}

# wait_until <name> <pid-function> <health-function> <timeout> <log file>...: poll the health check
# until it passes; fail early when the process dies, and show the logs' tails on failure.
wait_until() {
  local name=$1 pidfn=$2 healthfn=$3 timeout=$4 start=$SECONDS pid
  shift 4
  while ((SECONDS - start < timeout)); do
    if "$healthfn"; then
      return 0
    fi
    pid=$("$pidfn")
    if ! pid_alive "$pid"; then
      fail_with_log "$name exited while starting" "$@"
    fi
    sleep 1
  done
  fail_with_log "$name not healthy after ${timeout}s" "$@"
}

# fail_with_log <message> <log file>...: print the message and the last lines of each log, exit 1
fail_with_log() {
  local message=$1 log shown=0
  shift
  say "error: $message"
  for log in "$@"; do
    [[ -s $log ]] || continue
    say "last lines of $log:"
    tail -n 30 "$log" >&2
    shown=1
  done
  ((shown)) || say "(no log output in: $*)"
  exit 1
}

# ensure_port_free <service> <port>: refuse to start when a foreign process holds our port
ensure_port_free() {
  if port_open "$2"; then
    die "port $2 (for $1) is already in use by another process; stop it or set the port's METRONIS_*_PORT variable"
  fi
}

# apt_install <package>: install a Debian package when root, without letting its maintainer
# scripts start a system-wide instance on the default ports.
apt_install() {
  local pkg=$1 policy=/usr/sbin/policy-rc.d added=0
  if [[ $(id -u) -ne 0 ]]; then
    die "$pkg is not installed; install it (sudo apt-get install -y $pkg) and run again"
  fi
  command -v apt-get >/dev/null 2>&1 || die "$pkg is not installed and apt-get is not available"
  say "installing $pkg with apt-get (one time)"
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >"$STACK_STATE/apt-$pkg.log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STACK_STATE/apt-$pkg.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >>"$STACK_STATE/apt-$pkg.log" 2>&1 && rc=0
  fi
  ((added)) && rm -f "$policy"
  [[ $rc -eq 0 ]] || fail_with_log "apt-get install $pkg failed" "$STACK_STATE/apt-$pkg.log"
}
