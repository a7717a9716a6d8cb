#!/usr/bin/env bash
# The local service stack for development and integration tests: Kafka (KRaft), Apicurio Registry,
# PostgreSQL, ClickHouse and Redis as plain processes on loopback, no Docker needed.
# Runtime state (pids, logs, data) lives in .stack/, downloads in ${XDG_CACHE_HOME:-~/.cache}/metronis.
# See infra/stack/README.md for ports, settings and timings.
#
#   bash scripts/stack.sh up                 start what is not running, wait until healthy, print URLs
#   bash scripts/stack.sh down               stop everything (TERM, wait, KILL)
#   bash scripts/stack.sh status             each service up/down
#   bash scripts/stack.sh env                export lines for the test environment
#   bash scripts/stack.sh start|stop SVC     start (and wait) / gracefully stop one service
#   bash scripts/stack.sh restart SVC        stop then start one service
#   bash scripts/stack.sh kill SVC           SIGKILL one service (fault tests); `start SVC` recovers it
#   bash scripts/stack.sh logs SVC [-f]      the service's log (last 100 lines, or follow)
#   bash scripts/stack.sh fetch              download the Kafka jars and Apicurio only
# SVC is one of: kafka registry postgres clickhouse redis
set -euo pipefail

# shellcheck source=../infra/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../infra/stack/lib.sh"
for svc_file in "$STACK_INFRA"/services/*.sh; do
  # shellcheck source=/dev/null
  source "$svc_file"
done

SERVICES=(postgres kafka registry clickhouse redis)

usage() {
  sed -n '7,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

check_service() {
  local s
  for s in "${SERVICES[@]}"; do [[ $1 == "$s" ]] && return 0; done
  die "unknown service '$1'; expected one of: ${SERVICES[*]}"
}

print_env() {
  local prefix=${1:-}
  echo "${prefix}KAFKA_BROKERS=$(kafka_describe)"
  echo "${prefix}SCHEMA_REGISTRY_URL=$(registry_describe)"
  echo "${prefix}DATABASE_URL=$(postgres_describe)"
  echo "${prefix}CLICKHOUSE_URL=$(clickhouse_describe)"
  echo "${prefix}REDIS_URL=$(redis_describe)"
}

# start_one SVC: launch when not running, then wait until healthy
start_one() {
  local svc=$1
  if "${svc}_running"; then
    say "$svc: already running (pid $("${svc}_pid"))"
  else
    say "$svc: starting"
    "${svc}_launch"
  fi
  "${svc}_wait"
  say "$svc: up"
}

cmd_up() {
  mkdir -p "$STACK_STATE"
  local started=$SECONDS svc
  kafka_fetch
  registry_fetch
  registry_java >/dev/null
  # launch the independent services together, then the registry once its database answers
  for svc in postgres kafka clickhouse redis; do
    if "${svc}_running"; then
      say "$svc: already running (pid $("${svc}_pid"))"
    else
      say "$svc: starting"
      "${svc}_launch"
    fi
  done
  postgres_wait
  say "postgres: up"
  start_one registry
  for svc in kafka clickhouse redis; do
    "${svc}_wait"
    say "$svc: up"
  done
  say "stack up in $((SECONDS - started))s"
  print_env
}

cmd_down() {
  local svc
  for svc in redis clickhouse registry kafka postgres; do
    if "${svc}_running"; then
      say "$svc: stopping"
      "${svc}_stop"
    fi
  done
  say "stack down"
}

cmd_status() {
  local svc pid state all=0
  for svc in "${SERVICES[@]}"; do
    if "${svc}_running"; then
      pid=$("${svc}_pid")
      if "${svc}_healthy"; then state=up; else state="starting/unhealthy"; all=1; fi
      printf '%-11s %-19s pid %-8s %s\n' "$svc" "$state" "$pid" "$("${svc}_describe")"
    else
      printf '%-11s %-19s %-12s %s\n' "$svc" down "" "$("${svc}_describe")"
      all=1
    fi
  done
  return $all
}

cmd_logs() {
  local log
  log=$("${1}_log")
  [[ -f $log ]] || die "$1 has no log yet ($log)"
  if [[ ${2:-} == -f ]]; then tail -n 100 -F "$log"; else tail -n 100 "$log"; fi
}

# take_lock: one mutating command at a time (two engineers may run `npm run stack:up` at once;
# the second then finds everything running and leaves it alone)
take_lock() {
  mkdir -p "$STACK_STATE"
  exec 9>"$STACK_STATE/stack.lock"
  if ! flock -n 9; then
    say "another stack command is running; waiting for it"
    flock -w 600 9 || die "gave up waiting for the lock $STACK_STATE/stack.lock"
  fi
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  case $cmd in
    up | down | fetch | start | stop | kill | restart) take_lock ;;
  esac
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) print_env 'export ' ;;
    fetch) kafka_fetch && registry_fetch && registry_java >/dev/null && say "downloads ready in $STACK_CACHE" ;;
    start | stop | kill | restart | logs)
      [[ $# -ge 1 ]] || die "'$cmd' needs a service: ${SERVICES[*]}"
      check_service "$1"
      mkdir -p "$STACK_STATE"
      case $cmd in
        start) start_one "$1" ;;
        stop) say "$1: stopping"; "${1}_stop"; say "$1: stopped" ;;
        kill) say "$1: SIGKILL"; "${1}_kill"; say "$1: killed" ;;
        restart) "${1}_stop"; start_one "$1" ;;
        logs) cmd_logs "$@" ;;
      esac
      ;;
    -h | --help | help) usage ;;
    *) say "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
