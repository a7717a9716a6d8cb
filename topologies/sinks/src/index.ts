/**
 * Sinks: the durable end of the pipeline. Each sink is its own consumer group, so Postgres and
 * ClickHouse move at their own pace and one being down does not hold the other back. Sinks are
 * idempotent (upsert by (org, trace id) or (org, evaluation id) in Postgres; ReplacingMergeTree keyed
 * by trace id or evaluation id in ClickHouse), which makes at-least-once delivery land every record once.
 *
 * The ClickHouse sinks write each row's `retention_days` from the organization's current retention
 * when given a `retention` source (a per-org cache the caller keeps): one lookup per organization per
 * batch. Without one, rows take the tables' default (90 days).
 *
 * Deleted stays deleted: the Postgres upserts drop what was deleted (tombstones, the retention
 * watermark) in the transaction that writes; the facts sinks check before and after their insert
 * (`insertUnlessDeleted`). No record's content is ever logged: the runner logs ids, counts and reasons.
 *
 * @example
 *   for (const topology of sinkTopologies({ store, facts, retention })) runTopology(topology, { log, serde, logger });
 */
import type { TierResult, Trace } from '@metronis/schemas';
import { InvalidRecordError, toEvaluationFact, toModuleResultFacts, type DeletionRef, type FactsStore, type RelationalStore, type TraceFact } from '@metronis/stores';
import { InfrastructureError, PoisonRecordError, TOPICS, type SinkTopology, type Topology } from '@metronis/streams';

/** An organization's retention in days, usually from a cache of the organizations table. */
export interface RetentionSource {
  get(orgId: string): Promise<number>;
}

export interface FactsSinkOptions {
  /** the organizations' retention; absent: the tables' default (90 days) */
  retention?: RetentionSource | undefined;
  /**
   * Where deletions are known (the relational store's tombstones): records of traces or users
   * deleted after they were received are dropped, not written again. Absent: nothing is dropped.
   */
  deletions?: Pick<RelationalStore, 'deletedRecords'> | undefined;
}

/** What identifies a sink item for the deletion check (see `RelationalStore.deletedRecords`). */
type RefOf<T> = (item: T) => DeletionRef;

/** `deletedRecords`, with a failed lookup as an InfrastructureError: the runner retries rather than write what may have been deleted. */
async function deletedPositions(deletions: NonNullable<FactsSinkOptions['deletions']>, refs: DeletionRef[]): Promise<Set<number>> {
  if (refs.length === 0) return new Set();
  try {
    return await deletions.deletedRecords(refs);
  } catch (error) {
    throw new InfrastructureError(`deletions could not be checked: ${(error as Error)?.message ?? error}`, { cause: error });
  }
}

/**
 * The items of a batch whose trace or user was not deleted after they were received. The Postgres
 * sinks get this from the store's upserts; the facts sinks ask here (see `insertUnlessDeleted`).
 */
export async function withoutDeleted<T>(deletions: FactsSinkOptions['deletions'], items: T[], ref: RefOf<T>): Promise<T[]> {
  if (deletions === undefined || items.length === 0) return items;
  const dropped = await deletedPositions(deletions, items.map(ref));
  return dropped.size === 0 ? items : items.filter((_, i) => !dropped.has(i));
}

/**
 * A facts sink's write when deletions are known: the items not deleted are inserted, then checked
 * again. ClickHouse has no transaction to share with the Postgres tombstones, so a deletion may
 * commit between the check and the insert and delete the trace's facts before this insert lands;
 * the second check sees that deletion's tombstones, and the facts of the items it now finds deleted
 * are deleted again. (A deletion committed after the second check deletes the facts after the insert
 * landed: the console deletes facts after Postgres.) With `purgeDropped` (the trace facts sink), the
 * facts of a trace dropped here whose trace id now has a tombstone and no stored trace are deleted
 * too: an evaluation fact can land before its trace fact, and the trace's drop for its user's
 * deletion is what buries its id. Failures are InfrastructureErrors: the batch is retried, and every
 * step is idempotent.
 */
export async function insertUnlessDeleted<T>(
  options: FactsSinkOptions,
  facts: Pick<FactsStore, 'deleteTraces'>,
  items: T[],
  ref: RefOf<T>,
  insert: (kept: T[]) => Promise<void>,
  purgeDropped = false,
): Promise<void> {
  const { deletions } = options;
  if (deletions === undefined) {
    if (items.length > 0) await insert(items);
    return;
  }
  const refs = items.map(ref);
  const dropped = await deletedPositions(deletions, refs);
  const kept = refs.flatMap((r, i) => (dropped.has(i) ? [] : [{ item: items[i]!, ref: r }]));
  if (kept.length > 0) await insert(kept.map((k) => k.item));
  // Checked again: the kept items as they are, and the dropped traces as dependents (no received_at).
  const suspects = [...kept.map((k) => k.ref), ...(purgeDropped ? [...dropped].map((i) => ({ org_id: refs[i]!.org_id, trace_id: refs[i]!.trace_id })) : [])];
  const gone = await deletedPositions(deletions, suspects);
  if (gone.size === 0) return;
  const byOrg = new Map<string, Set<string>>();
  for (const i of gone) {
    const { org_id, trace_id } = suspects[i]!;
    byOrg.set(org_id, (byOrg.get(org_id) ?? new Set()).add(trace_id));
  }
  for (const [orgId, traceIds] of byOrg) {
    try {
      await facts.deleteTraces(orgId, [...traceIds]);
    } catch (error) {
      throw new InfrastructureError(`facts of deleted traces could not be deleted: ${(error as Error)?.message ?? error}`, { cause: error });
    }
  }
}

/**
 * The retention of each organization of a batch, asked once per organization. A failed lookup or a
 * value that is not an integer in 1..65535 (the column is UInt16) is an InfrastructureError: the
 * runner retries the batch rather than write rows with the wrong retention. A lookup the store
 * refuses because of the org id itself (InvalidRecordError) is a PoisonRecordError instead: the
 * record goes to the DLQ and the partition moves on.
 */
export async function retentionOfBatch(retention: RetentionSource | undefined, orgIds: Iterable<string>): Promise<(orgId: string) => number | undefined> {
  if (!retention) return () => undefined;
  const orgs = [...new Set(orgIds)];
  const days = await Promise.all(
    orgs.map(async (orgId) => {
      let value: unknown;
      try {
        value = await retention.get(orgId);
      } catch (error) {
        const message = `retention of organization ${JSON.stringify(orgId)} unavailable: ${(error as Error)?.message ?? error}`;
        // The store refusing the id itself (an empty or malformed org id: a poison record's) is no
        // outage: retrying would hold the partition for ever. The runner isolates such a record into the DLQ.
        if (refusesTheRecord(error)) throw new PoisonRecordError(message, { cause: error });
        throw new InfrastructureError(message, { cause: error });
      }
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65_535) {
        throw new InfrastructureError(`retention of organization ${JSON.stringify(orgId)} must be an integer in 1..65535 days, got ${JSON.stringify(value)}`);
      }
      return value as number;
    }),
  );
  const byOrg = new Map(orgs.map((orgId, i) => [orgId, days[i]!]));
  return (orgId) => byOrg.get(orgId);
}

/** Whether the error, or one it wraps, says the value cannot be stored whatever is retried. */
function refusesTheRecord(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    if (e instanceof InvalidRecordError || e instanceof PoisonRecordError) return true;
  }
  return false;
}

/**
 * The Postgres sinks' batches, adaptive: written at 500 records, or as soon as the input goes idle for
 * 20 ms, and at the latest 250 ms after their first record. A lone trace is readable about 20 ms
 * after it reached the log; a steady trickle (which never goes idle) becomes batches of a quarter
 * second's records instead of one tiny upsert per fetch.
 */
export const POSTGRES_SINK_BATCH = { maxRecords: 500, maxWaitMs: 250, idleMs: 20 } as const;

/** Traces into Postgres: a trace should be readable soon after its 202. */
export function postgresTracesSink(store: Pick<RelationalStore, 'upsertTraces'>): SinkTopology<'Trace'> {
  return {
    kind: 'sink',
    name: 'sink-postgres-traces',
    groupId: 'metronis.sink.postgres-traces.v1',
    input: TOPICS.traces,
    batch: POSTGRES_SINK_BATCH,
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
    batch: POSTGRES_SINK_BATCH,
    write: (items) => store.upsertVerdicts(items.map((item) => item.value)),
  };
}

/** Trace facts into ClickHouse, which wants few large inserts: at least 1,000 rows, or once a second. */
export function clickhouseTraceFactsSink(facts: Pick<FactsStore, 'insertTraceFacts' | 'deleteTraces'>, options: FactsSinkOptions = {}): SinkTopology<'Trace'> {
  return {
    kind: 'sink',
    name: 'sink-clickhouse-trace-facts',
    groupId: 'metronis.sink.clickhouse-trace-facts.v1',
    input: TOPICS.traces,
    batch: { maxRecords: 1_000, maxWaitMs: 1_000 },
    write: (batch) =>
      insertUnlessDeleted(
        options,
        facts,
        batch,
        ({ value: t }) => ({ org_id: t.org_id, trace_id: t.trace_id, user_id: t.user_id, received_at: t.received_at }),
        async (items) => {
          const retentionOf = await retentionOfBatch(options.retention, items.map((item) => item.value.org_id));
          await facts.insertTraceFacts(items.map((item) => toTraceFact(item.value, retentionOf(item.value.org_id))));
        },
        true,
      ),
  };
}

/** Tier results into Postgres, where the console shows them beside their trace. */
export function postgresEvaluationsSink(store: Pick<RelationalStore, 'upsertEvaluations'>): SinkTopology<'TierResult'> {
  return {
    kind: 'sink',
    name: 'sink-postgres-evaluations',
    groupId: 'metronis.sink.postgres-evaluations.v1',
    input: TOPICS.evaluations,
    batch: POSTGRES_SINK_BATCH,
    write: (items) => store.upsertEvaluations(items.map((item) => item.value)),
  };
}

/**
 * Evaluation facts into ClickHouse: one row per tier result (its modules, failed modules and finding
 * kinds as arrays; see `toEvaluationFact`), in few large inserts like the trace facts. The per-minute
 * rollup (`evaluation_rollup_minute_v1`) is fed from these rows by a materialized view.
 */
export function clickhouseEvaluationFactsSink(facts: Pick<FactsStore, 'insertEvaluationFacts' | 'deleteTraces'>, options: FactsSinkOptions = {}): SinkTopology<'TierResult'> {
  return {
    kind: 'sink',
    name: 'sink-clickhouse-evaluation-facts',
    groupId: 'metronis.sink.clickhouse-evaluation-facts.v1',
    input: TOPICS.evaluations,
    batch: { maxRecords: 1_000, maxWaitMs: 1_000 },
    write: (batch) =>
      insertUnlessDeleted(options, facts, batch, resultRef, async (items) => {
        const retentionOf = await retentionOfBatch(options.retention, items.map((item) => item.value.org_id));
        await facts.insertEvaluationFacts(items.map((item) => toEvaluationFact(item.value, retentionOf(item.value.org_id))));
      }),
  };
}

/** A tier result for the deletion check: its trace id, and when it was made (for the retention watermark). */
const resultRef = ({ value: r }: { value: TierResult }): DeletionRef => ({ org_id: r.org_id, trace_id: r.trace_id, made_at: r.evaluated_at });

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
export function clickhouseModuleResultFactsSink(
  facts: Pick<FactsStore, 'insertModuleResultFacts' | 'deleteTraces'>,
  options: FactsSinkOptions = {},
): SinkTopology<'TierResult'> {
  return {
    kind: 'sink',
    name: 'sink-clickhouse-module-result-facts',
    groupId: 'metronis.sink.clickhouse-module-result-facts.v1',
    input: TOPICS.evaluations,
    batch: { maxRecords: 1_000, maxWaitMs: 1_000 },
    write: (batch) =>
      insertUnlessDeleted(options, facts, batch, resultRef, async (items) => {
        const retentionOf = await retentionOfBatch(options.retention, items.map((item) => item.value.org_id));
        await facts.insertModuleResultFacts(items.flatMap((item) => toModuleResultFacts(item.value, retentionOf(item.value.org_id))));
      }),
  };
}

/**
 * The analytics row of a trace: absent values become ClickHouse's neutral values (empty, 0); without
 * `retentionDays` the row takes the table's default.
 */
export function toTraceFact(trace: Trace, retentionDays?: number): TraceFact {
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
    // The public trace takes fractional milliseconds (420.5); the column is UInt32.
    latency_ms: Math.round(trace.latency_ms ?? 0),
    user_id: trace.user_id ?? '',
    session_id: trace.session_id ?? '',
    ...(retentionDays === undefined ? {} : { retention_days: retentionDays }),
  };
}

/**
 * Every sink, as the `sinks` worker runs them; `retention` feeds the facts' retention_days; the
 * store's tombstones keep deleted traces and users from being written again.
 */
export function sinkTopologies(deps: { store: RelationalStore; facts: FactsStore; retention?: RetentionSource | undefined }): Topology[] {
  const options: FactsSinkOptions = { retention: deps.retention, deletions: deps.store };
  return [
    postgresTracesSink(deps.store),
    postgresVerdictsSink(deps.store),
    postgresEvaluationsSink(deps.store),
    clickhouseTraceFactsSink(deps.facts, options),
    clickhouseEvaluationFactsSink(deps.facts, options),
    clickhouseModuleResultFactsSink(deps.facts, options),
  ];
}
