# shellcheck shell=bash
# PostgreSQL 15 from Debian's packages on 127.0.0.1:$PG_PORT: role metronis/metronis (CREATEDB, for
# throwaway test databases), databases metronis and apicurio (the schema registry's storage).
# Root cannot run postgres, so as root the cluster runs as the `postgres` OS user; its data
# directory lives in .stack/postgres when that user can reach it, otherwise under /var/tmp.

PG_BIN=${METRONIS_PG_BIN:-}
if [[ -z $PG_BIN ]]; then
  for v in 15 16 17; do
    [[ -x /usr/lib/postgresql/$v/bin/postgres ]] && PG_BIN=/usr/lib/postgresql/$v/bin && break
  done
fi

pg_user() {
  if [[ $(id -u) -eq 0 ]]; then echo postgres; else id -un; fi
}

# as_pg <command...>: run as the OS user that owns the cluster
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_home() {
  local dir="$STACK_STATE/postgres"
  if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$STACK_STATE" 2>/dev/null; then
    # the postgres user cannot traverse the repository path
    dir="/var/tmp/metronis-stack-$(printf '%s' "$STACK_STATE" | cksum | cut -d' ' -f1)/postgres"
  fi
  echo "$dir"
}

PG_HOME=
pg_paths() {
  [[ -n $PG_HOME ]] && return
  PG_HOME=$(pg_home)
  PG_DATA="$PG_HOME/data"
  PG_SOCK="$PG_HOME/run"
  PG_LOG="$PG_HOME/postgres.log"
}

postgres_pid() {
  pg_paths
  as_pg cat "$PG_DATA/postmaster.pid" 2>/dev/null | head -n 1 | tr -dc '0-9' || true
}

# running = the pid in postmaster.pid is alive and is a postmaster of this data directory (after a
# crash the stale pid may belong to an unrelated process)
postgres_running() {
  local pid
  pg_paths
  pid=$(postgres_pid)
  pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-D $PG_DATA"
}

# lock files left by a killed or crashed postmaster (postmaster.pid and the socket's .lock):
# postgres refuses to start while a recorded pid is alive, even when the pid now belongs to an
# unrelated process, which happens quickly on a busy machine
postgres_clear_stale_pidfile() {
  pg_paths
  postgres_running && return 0
  as_pg rm -f "$PG_DATA/postmaster.pid" "$PG_SOCK/.s.PGSQL.$PG_PORT" "$PG_SOCK/.s.PGSQL.$PG_PORT.lock"
}

postgres_log() { pg_paths; echo "$PG_LOG"; }

postgres_healthy() {
  pg_paths
  as_pg "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres 2>/dev/null
}

postgres_install() {
  if [[ -z $PG_BIN ]]; then
    apt_install postgresql
    for v in 15 16 17; do
      [[ -x /usr/lib/postgresql/$v/bin/postgres ]] && PG_BIN=/usr/lib/postgresql/$v/bin && break
    done
    [[ -n $PG_BIN ]] || die "postgresql installed but no server binaries under /usr/lib/postgresql/*/bin"
  fi
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "running as root but the 'postgres' OS user does not exist (reinstall the postgresql package)"
  fi
}

postgres_init() {
  pg_paths
  mkdir -p "$PG_HOME"
  [[ $(id -u) -eq 0 ]] && chown "$(pg_user)": "$PG_HOME"
  as_pg mkdir -p "$PG_SOCK"
  if ! as_pg test -f "$PG_DATA/PG_VERSION"; then
    say "postgres: initdb in $PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$PG_HOME/initdb.log" 2>&1 ||
      fail_with_log "initdb failed" "$PG_HOME/initdb.log"
  fi
  # settings are rewritten on every start so that port changes apply
  as_pg sh -c "cat > '$PG_DATA/metronis.conf'" <<CONF
# written by scripts/stack.sh on every start
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 300
shared_buffers = 128MB
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
CONF
  as_pg sh -c "grep -q '^include_if_exists = .metronis.conf.' '$PG_DATA/postgresql.conf' ||
    echo \"include_if_exists = 'metronis.conf'\" >> '$PG_DATA/postgresql.conf'"
}

postgres_launch() {
  postgres_running && return 0
  postgres_install
  pg_paths
  ensure_port_free postgres "$PG_PORT"
  postgres_init
  postgres_clear_stale_pidfile
  # pg_ctl puts the postmaster in its own session, so the pid in postmaster.pid leads the group
  # 9>&-: the postmaster must not inherit the stack's command lock
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -W start >/dev/null 9>&- ||
    fail_with_log "pg_ctl start failed" "$PG_LOG"
}

postgres_wait() {
  pg_paths
  local i
  # postmaster.pid appears a moment after pg_ctl returns
  for ((i = 0; i < 50; i++)); do
    [[ -n $(postgres_pid) ]] && break
    sleep 0.2
  done
  wait_until postgres postgres_pid postgres_healthy "$STACK_TIMEOUT" "$PG_LOG"
  postgres_provision
}

# idempotent: role metronis (password metronis, CREATEDB) and the databases metronis and apicurio
postgres_provision() {
  pg_paths
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres)
  as_pg "${psql[@]}" <<'SQL' >/dev/null || die "postgres: creating the metronis role and databases failed"
SELECT 'CREATE ROLE metronis LOGIN CREATEDB PASSWORD ''metronis'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'metronis')\gexec
SELECT 'CREATE DATABASE metronis OWNER metronis'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'metronis')\gexec
SELECT 'CREATE DATABASE apicurio OWNER metronis'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'apicurio')\gexec
SQL
}

postgres_stop() {
  postgres_running || return 0
  pg_paths
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -t 30 -w stop >/dev/null 2>&1 ||
    stop_group postgres "$(postgres_pid)" 5
}

# SIGKILL the postmaster and its children at once, like a machine crash. Postgres puts every child
# in its own process group, so they are found by parent pid rather than signalled as a group.
postgres_kill() {
  local pid children child
  postgres_running || return 0
  pid=$(postgres_pid)
  children=$(pgrep -P "$pid" || true)
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL "$pid" $children 2>/dev/null || true
  while pid_alive "$pid"; do sleep 0.1; done
  for child in $children; do
    while pid_alive "$child"; do sleep 0.1; done
  done
  postgres_clear_stale_pidfile
}

postgres_describe() { echo "postgres://metronis:metronis@127.0.0.1:$PG_PORT/metronis"; }
