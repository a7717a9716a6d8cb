# shellcheck shell=bash
# Redis from Debian's packages (redis-server) on 127.0.0.1:$REDIS_PORT, without persistence: it
# holds caches only, so a restart starts empty.

REDIS_HOME="$STACK_STATE/redis"
REDIS_LOG="$REDIS_HOME/redis.log"
REDIS_PIDFILE="$REDIS_HOME/redis.pid"

redis_install() {
  command -v redis-server >/dev/null 2>&1 && return 0
  apt_install redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not found on PATH"
}

redis_pid() { read_pid "$REDIS_PIDFILE"; }

redis_running() {
  local pid
  pid=$(redis_pid)
  pid_alive "$pid" && grep -q -F "127.0.0.1:$REDIS_PORT" "/proc/$pid/cmdline" 2>/dev/null
}

redis_log() { echo "$REDIS_LOG"; }

redis_launch() {
  redis_running && return 0
  redis_install
  ensure_port_free redis "$REDIS_PORT"
  mkdir -p "$REDIS_HOME"
  launch "$REDIS_PIDFILE" "$REDIS_LOG" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --protected-mode yes --daemonize no --save '' --appendonly no --dir "$REDIS_HOME" \
    --loglevel warning
}

redis_healthy() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
  else
    port_open "$REDIS_PORT"
  fi
}

redis_wait() {
  wait_until redis redis_pid redis_healthy 30 "$REDIS_LOG"
}

redis_stop() {
  redis_running || return 0
  stop_group redis "$(redis_pid)" 15
}

redis_kill() {
  local pid
  pid=$(redis_pid)
  redis_running || return 0
  signal_group KILL "$pid"
  while pid_alive "$pid"; do sleep 0.1; done
}

redis_describe() { echo "redis://127.0.0.1:$REDIS_PORT"; }
