# shellcheck shell=bash
# ClickHouse server from Debian's packages (clickhouse-server, 18.16 on bookworm) with its own
# config and data under .stack/clickhouse: HTTP on 127.0.0.1:$CH_HTTP_PORT, native TCP on
# $CH_TCP_PORT, nothing else (no interserver, MySQL or Prometheus ports). User `default`, no
# password, loopback only. The Metronis facts schema targets current ClickHouse and is verified on
# the embedded engine; this server exercises the HTTP transport.

CH_HOME="$STACK_STATE/clickhouse"
CH_LOG="$CH_HOME/log/clickhouse-server.log"
CH_ERR="$CH_HOME/log/clickhouse-server.err.log"
CH_OUT="$CH_HOME/log/stdout.log"
CH_PIDFILE="$CH_HOME/clickhouse.pid"

clickhouse_bin() {
  command -v clickhouse-server 2>/dev/null || { [[ -x /usr/bin/clickhouse-server ]] && echo /usr/bin/clickhouse-server; }
}

clickhouse_install() {
  [[ -n $(clickhouse_bin) ]] && return 0
  apt_install clickhouse-server
  [[ -n $(clickhouse_bin) ]] || die "clickhouse-server installed but not found on PATH"
}

clickhouse_pid() { read_pid "$CH_PIDFILE"; }

clickhouse_running() {
  local pid
  pid=$(clickhouse_pid)
  pid_alive "$pid" && grep -q -F "$CH_HOME/config.xml" "/proc/$pid/cmdline" 2>/dev/null
}

clickhouse_log() { if [[ -s $CH_ERR ]]; then echo "$CH_ERR"; else echo "$CH_OUT"; fi; }

clickhouse_config() {
  mkdir -p "$CH_HOME/data" "$CH_HOME/tmp" "$CH_HOME/user_files" "$CH_HOME/format_schemas" "$CH_HOME/log"
  cat >"$CH_HOME/users.xml" <<XML
<?xml version="1.0"?>
<!-- written by scripts/stack.sh on every start -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
XML
  cat >"$CH_HOME/config.xml" <<XML
<?xml version="1.0"?>
<!-- written by scripts/stack.sh on every start -->
<yandex>
  <logger>
    <level>warning</level>
    <log>$CH_LOG</log>
    <errorlog>$CH_ERR</errorlog>
    <size>50M</size>
    <count>3</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CH_HTTP_PORT</http_port>
  <tcp_port>$CH_TCP_PORT</tcp_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$CH_HOME/data/</path>
  <tmp_path>$CH_HOME/tmp/</tmp_path>
  <user_files_path>$CH_HOME/user_files/</user_files_path>
  <format_schema_path>$CH_HOME/format_schemas/</format_schema_path>
  <users_config>$CH_HOME/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
XML
}

clickhouse_launch() {
  clickhouse_running && return 0
  clickhouse_install
  ensure_port_free "clickhouse http" "$CH_HTTP_PORT"
  ensure_port_free "clickhouse tcp" "$CH_TCP_PORT"
  clickhouse_config
  # start from a clean error log, so a failure shows this run's reason
  : >"$CH_ERR"
  launch "$CH_PIDFILE" "$CH_OUT" "$(clickhouse_bin)" --config-file="$CH_HOME/config.xml"
}

clickhouse_healthy() {
  [[ $(curl -fsS --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null) == Ok.* ]]
}

clickhouse_wait() {
  wait_until clickhouse clickhouse_pid clickhouse_healthy "$STACK_TIMEOUT" "$CH_OUT" "$CH_ERR"
}

clickhouse_stop() {
  clickhouse_running || return 0
  stop_group clickhouse "$(clickhouse_pid)" 30
}

clickhouse_kill() {
  local pid
  pid=$(clickhouse_pid)
  clickhouse_running || return 0
  signal_group KILL "$pid"
  while pid_alive "$pid"; do sleep 0.1; done
}

clickhouse_describe() { echo "http://127.0.0.1:$CH_HTTP_PORT"; }
