/**
 * Sinks: the durable end of the pipeline. Each sink is its own consumer group, so Postgres and
 * ClickHouse move at their own pace and one being down does not hold the other back. Sinks are
 * idempotent (upsert by (org, trace id) or (org, evaluation id) in Postgres; ReplacingMergeTree keyed
 * by trace id or evaluation id in ClickHouse), which makes at-least-once delivery land every record once.
 *
 * @example
 *   for (const topology of sinkTopologies({ store, facts })) runTopology(topology, { log, serde, logger });
 */
import type { Trace } from '@metronis/schemas';
import { toEvaluationFact, toModuleResultFacts, type FactsStore, type RelationalStore, type TraceFact } from '@metronis/stores';
import { TOPICS, type SinkTopology, type Topology } from '@metronis/streams';

/** Traces into Postgres, in small batches: a trace should be readable within milliseconds of its 202. */
export function postgresTracesSink(store: Pick<RelationalStore, 'upsertTraces'>): SinkTopology<'Trace'> {
  return {
    kind: 'sink',
    name: 'sink-postgres-traces',
    groupId: 'metronis.sink.postgres-traces.v1',
    input: TOPICS.traces,
    batch: { maxRecords: 500, maxWaitMs: 20 },
    write: (items) => store.upsertTraces(items.map((item) => item.value)),
  };
}

/** Verdicts into Postgres, beside their traces. */
export function postgresVerdictsSink(store: Pick<RelationalStore, 'upsertVerdicts'>): SinkTopology<'Verdict'> {
  return {
    kind: 'sink',
    name: 'sink-postgres-verdicts',
    groupId: 'metronis.sink.postgres-verdicts.v1',
    input: TOPICS.verdicts,
    batch: { maxRecords: 500, maxWaitMs: 20 },
    write: (items) => store.upsertVerdicts(items.map((item) => item.value)),
  };
}

/** Trace facts into ClickHouse, which wants few large inserts: at least 1,000 rows, or once a second. */
export function clickhouseTraceFactsSink(facts: Pick<FactsStore, 'insertTraceFacts'>): SinkTopology<'Trace'> {
  return {
    kind: 'sink',
    name: 'sink-clickhouse-trace-facts',
    groupId: 'metronis.sink.clickhouse-trace-facts.v1',
    input: TOPICS.traces,
    batch: { maxRecords: 1_000, maxWaitMs: 1_000 },
    write: (items) => facts.insertTraceFacts(items.map((item) => toTraceFact(item.value))),
  };
}

/** Tier results into Postgres, where the console shows them beside their trace. */
export function postgresEvaluationsSink(store: Pick<RelationalStore, 'upsertEvaluations'>): SinkTopology<'TierResult'> {
  return {
    kind: 'sink',
    name: 'sink-postgres-evaluations',
    groupId: 'metronis.sink.postgres-evaluations.v1',
    input: TOPICS.evaluations,
    batch: { maxRecords: 500, maxWaitMs: 20 },
    write: (items) => store.upsertEvaluations(items.map((item) => item.value)),
  };
}

/**
 * Evaluation facts into ClickHouse: one row per tier result (its modules, failed modules and finding
 * kinds as arrays; see `toEvaluationFact`), in few large inserts like the trace facts. The per-minute
 * rollup (`evaluation_rollup_minute_v1`) is fed from these rows by a materialized view.
 */
export function clickhouseEvaluationFactsSink(facts: Pick<FactsStore, 'insertEvaluationFacts'>): SinkTopology<'TierResult'> {
  return {
    kind: 'sink',
    name: 'sink-clickhouse-evaluation-facts',
    groupId: 'metronis.sink.clickhouse-evaluation-facts.v1',
    input: TOPICS.evaluations,
    batch: { maxRecords: 1_000, maxWaitMs: 1_000 },
    write: (items) => facts.insertEvaluationFacts(items.map((item) => toEvaluationFact(item.value))),
  };
}

/**
 * Module result facts into ClickHouse: one row per module of each tier result (its own passed, score,
 * severity, labels, finding kinds and latency; see `toModuleResultFacts`). The per-minute module
 * rollup (`module_rollup_minute_v1`) is fed from these rows by a materialized view.
 *
 * Its own consumer group rather than a second insert in the evaluation facts sink: the two tables
 * move and fail independently (a retry of one never re-inserts into the other), and a group new to
 * a deployment starts at the earliest offset, so the module table fills in from the history the
 * evaluations topic still holds. Batches of 1,000 tier results give at least 1,000 rows per insert
 * whenever results carry a module.
 */
export function clickhouseModuleResultFactsSink(facts: Pick<FactsStore, 'insertModuleResultFacts'>): SinkTopology<'TierResult'> {
  return {
    kind: 'sink',
    name: 'sink-clickhouse-module-result-facts',
    groupId: 'metronis.sink.clickhouse-module-result-facts.v1',
    input: TOPICS.evaluations,
    batch: { maxRecords: 1_000, maxWaitMs: 1_000 },
    write: (items) => facts.insertModuleResultFacts(items.flatMap((item) => toModuleResultFacts(item.value))),
  };
}

/** The analytics row of a trace: absent values become ClickHouse's neutral values (empty, 0). */
export function toTraceFact(trace: Trace): TraceFact {
  return {
    org_id: trace.org_id,
    trace_id: trace.trace_id,
    timestamp: trace.timestamp,
    received_at: trace.received_at,
    application: trace.application ?? '',
    environment: trace.environment ?? '',
    model_provider: trace.model?.provider ?? '',
    model_name: trace.model?.name ?? '',
    input_tokens: trace.usage?.input_tokens ?? 0,
    output_tokens: trace.usage?.output_tokens ?? 0,
    cost_usd: trace.usage?.cost_usd ?? 0,
    latency_ms: trace.latency_ms ?? 0,
    user_id: trace.user_id ?? '',
  };
}

/** Every sink, as the `sinks` worker runs them. */
export function sinkTopologies(deps: { store: RelationalStore; facts: FactsStore }): Topology[] {
  return [
    postgresTracesSink(deps.store),
    postgresVerdictsSink(deps.store),
    postgresEvaluationsSink(deps.store),
    clickhouseTraceFactsSink(deps.facts),
    clickhouseEvaluationFactsSink(deps.facts),
    clickhouseModuleResultFactsSink(deps.facts),
  ];
}
