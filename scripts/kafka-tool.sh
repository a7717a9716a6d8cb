#!/usr/bin/env bash
# Run a Kafka command-line tool class with the local stack's cached Kafka classpath (fetched on
# first use), e.g. for the benchmarks:
#
#   bash scripts/kafka-tool.sh org.apache.kafka.tools.ProducerPerformance --topic t \
#     --num-records 100000 --record-size 1024 --throughput -1 \
#     --producer-props bootstrap.servers=127.0.0.1:19092 acks=all enable.idempotence=true
#   bash scripts/kafka-tool.sh org.apache.kafka.tools.ConsumerPerformance \
#     --bootstrap-server 127.0.0.1:19092 --topic t --messages 100000
#   bash scripts/kafka-tool.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
#
# The stack's broker does not create topics on demand: create a benchmark topic with TopicCommand --create.
# Heap: METRONIS_KAFKA_TOOL_HEAP (default -Xmx512m). Tool logging: warnings to stderr.
set -euo pipefail

# shellcheck source=../infra/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../infra/stack/lib.sh"
# shellcheck source=../infra/stack/services/kafka.sh
source "$STACK_INFRA/services/kafka.sh"

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
main_class=$1
shift
[[ $main_class =~ ^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)+$ ]] ||
  die "'$main_class' is not a fully qualified Java class name (e.g. org.apache.kafka.tools.ProducerPerformance)"

need_cmd java "running Kafka tools (install a JDK 17+)"
kafka_fetch
# shellcheck disable=SC2086 # the heap variable holds JVM flags
exec java ${METRONIS_KAFKA_TOOL_HEAP:--Xmx512m} \
  -Dlog4j2.configurationFile="$STACK_INFRA/log4j2-tools.properties" \
  -cp "$KAFKA_LIBS/*" "$main_class" "$@"
