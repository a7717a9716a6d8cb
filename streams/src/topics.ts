/**
 * Every Metronis topic, typed by its value. Topics are versioned in their names and keyed by trace id.
 * (The alerts topic is keyed by alert, see below.) Values are Avro in the Confluent wire format, registered under `<topic>-value` (TopicNameStrategy).
 */
import type { RecordTypes, SchemaName } from '@metronis/schemas';

export interface TopicDef<N extends SchemaName = SchemaName> {
  name: string;
  schema: N;
  partitions: number;
  /** The partitioning key of a value. */
  keyOf(value: RecordTypes[N]): string;
}

function topic<N extends SchemaName>(name: string, schema: N, keyOf: (value: RecordTypes[N]) => string): TopicDef<N> {
  return { name, schema, partitions: 6, keyOf };
}

export const TOPICS = {
  traces: topic('metronis.traces.v1', 'Trace', (t) => t.trace_id),
  evaluations: topic('metronis.evaluations.v1', 'TierResult', (r) => r.trace_id),
  escalationsTier2: topic('metronis.escalations.tier2.v1', 'Escalation', (e) => e.trace.trace_id),
  escalationsTier3: topic('metronis.escalations.tier3.v1', 'Escalation', (e) => e.trace.trace_id),
  verdicts: topic('metronis.verdicts.v1', 'Verdict', (v) => v.trace_id),
  /** Keyed by org and fingerprint (not a trace id): one alert's events stay ordered on one partition. */
  alerts: topic('metronis.alerts.v1', 'Alert', (a) => `${a.org_id}/${a.fingerprint}`),
} as const;

/** The dead-letter topic: raw bytes of records that could not be processed, with headers saying why. */
export const DLQ_TOPIC = 'metronis.dlq.v1';

/** Headers on DLQ records. */
export const DLQ_HEADERS = {
  stage: 'metronis.dlq.stage',
  error: 'metronis.dlq.error',
  errorName: 'metronis.dlq.error_name',
  topic: 'metronis.dlq.source_topic',
  partition: 'metronis.dlq.source_partition',
  offset: 'metronis.dlq.source_offset',
  failedAt: 'metronis.dlq.failed_at',
} as const;

export function subjectFor(topicName: string): string {
  return `${topicName}-value`;
}
