# shellcheck shell=bash
# Apache Kafka in KRaft mode: one JVM that is both broker (127.0.0.1:$KAFKA_PORT) and controller
# (127.0.0.1:$KAFKA_CONTROLLER_PORT), built from the Kafka jars on Maven Central (infra/stack/pom.xml,
# copied once into the cache). Storage is formatted once with a random cluster id and a standalone
# controller; the data survives stop/kill/start. Single-broker settings: replication factor 1,
# 6 partitions by default, no automatic topic creation (Metronis creates its topics).

KAFKA_HOME="$STACK_STATE/kafka"
KAFKA_LOG="$KAFKA_HOME/logs/server.log"
KAFKA_OUT="$KAFKA_HOME/logs/stdout.log"
KAFKA_PIDFILE="$KAFKA_HOME/kafka.pid"

# fetch the broker, the tools and a log4j2 binding into the cache (once)
kafka_fetch() {
  [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
  need_cmd java "running Kafka (install a JDK 17+, e.g. apt-get install -y openjdk-17-jre-headless)"
  need_cmd mvn "fetching the Kafka jars from Maven Central (apt-get install -y maven)"
  say "kafka: fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS" "$STACK_STATE"
  mvn -q -B -f "$STACK_INFRA/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >"$STACK_STATE/mvn-kafka.log" 2>&1 ||
    fail_with_log "fetching the Kafka jars with Maven failed" "$STACK_STATE/mvn-kafka.log"
  ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
    die "kafka: Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing from $KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

kafka_java() {
  java -cp "$KAFKA_LIBS/*" "$@"
}

kafka_pid() { read_pid "$KAFKA_PIDFILE"; }

kafka_running() {
  local pid
  pid=$(kafka_pid)
  pid_alive "$pid" && grep -q -F "$KAFKA_HOME/server.properties" "/proc/$pid/cmdline" 2>/dev/null
}

kafka_log() { echo "$KAFKA_LOG"; }

kafka_config() {
  mkdir -p "$KAFKA_HOME/data" "$KAFKA_HOME/logs"
  cat >"$KAFKA_HOME/server.properties" <<PROPS
# written by scripts/stack.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_HOME/data
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=168
log.segment.bytes=268435456
PROPS
}

kafka_format() {
  [[ -f "$KAFKA_HOME/data/meta.properties" ]] && return 0
  local id
  id=$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$KAFKA_OUT") ||
    fail_with_log "kafka: generating a cluster id failed" "$KAFKA_OUT"
  say "kafka: formatting storage (cluster id $id)"
  kafka_java -Dlog4j2.configurationFile="$STACK_INFRA/log4j2-tools.properties" \
    kafka.tools.StorageTool format --standalone -t "$id" -c "$KAFKA_HOME/server.properties" \
    >>"$KAFKA_OUT" 2>&1 || fail_with_log "kafka: formatting storage failed" "$KAFKA_OUT"
}

kafka_launch() {
  kafka_running && return 0
  need_cmd java "running Kafka (install a JDK 17+, e.g. apt-get install -y openjdk-17-jre-headless)"
  kafka_fetch
  ensure_port_free kafka "$KAFKA_PORT"
  ensure_port_free "kafka controller" "$KAFKA_CONTROLLER_PORT"
  kafka_config
  # stdout.log holds this run only: JVM and startup errors that precede log4j
  : >"$KAFKA_OUT"
  kafka_format
  # health is judged from the log written after this point
  KAFKA_LOG_OFFSET=$(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)
  # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM flags
  launch "$KAFKA_PIDFILE" "$KAFKA_OUT" java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_HOME/logs" \
    -Dlog4j2.configurationFile="$STACK_INFRA/log4j2-kafka.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_HOME/server.properties"
}

kafka_healthy() {
  port_open "$KAFKA_PORT" || return 1
  # not `tail | grep -q`: under pipefail, tail's SIGPIPE would turn a match into a failure
  grep -q 'Kafka Server started' < <(tail -c +"$((${KAFKA_LOG_OFFSET:-0} + 1))" "$KAFKA_LOG" 2>/dev/null)
}

kafka_wait() {
  # when the broker was already running, the port alone says it is up
  [[ -n ${KAFKA_LOG_OFFSET:-} ]] || { KAFKA_LOG_OFFSET=0; }
  wait_until kafka kafka_pid kafka_healthy "$STACK_TIMEOUT" "$KAFKA_OUT" "$KAFKA_LOG"
}

kafka_stop() {
  kafka_running || return 0
  # a controlled shutdown of a single broker takes a few seconds
  stop_group kafka "$(kafka_pid)" 60
}

kafka_kill() {
  local pid
  pid=$(kafka_pid)
  kafka_running || return 0
  signal_group KILL "$pid"
  while pid_alive "$pid"; do sleep 0.1; done
}

kafka_describe() { echo "127.0.0.1:$KAFKA_PORT"; }
