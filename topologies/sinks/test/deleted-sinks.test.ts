/**
 * The facts sinks drop records whose trace or user was deleted after they were received (the
 * relational store's tombstones), so a replay or a lagging sink does not bring deleted data back into
 * ClickHouse; what arrives later for the same user is new data and lands. Real parts: PGlite and chDB.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace, type TierResult, type Trace } from '@metronis/schemas';
import { createChdbFactsStore, createPgliteStore, type FactsStore, type RelationalStore } from '@metronis/stores';
import type { SinkTopology } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEvaluationFactsSink, clickhouseModuleResultFactsSink, clickhouseTraceFactsSink, withoutDeleted } from '../src/index.js';

let root: string;
let facts: FactsStore;
let store: RelationalStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'metronis-deleted-sinks-'));
  facts = createChdbFactsStore({ path: join(root, 'facts') });
  await facts.migrate();
  store = createPgliteStore();
  await store.migrate();
}, 60_000);

afterAll(async () => {
  await facts?.close();
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

/** Calls a sink's write as the runner would, with decoded items. */
function write<T>(sink: SinkTopology<any>, values: T[]): Promise<void> {
  return sink.write(values.map((value, i) => ({ value, key: null, partition: 0, offset: String(i), timestamp: 0, headers: {} })) as never);
}

async function count(table: string, traceId: string): Promise<number> {
  const [row] = await facts.query<{ n: number }>(`SELECT count() AS n FROM ${table} FINAL WHERE trace_id = {id:String}`, { id: traceId });
  return Number(row?.n ?? 0);
}

/**
 * A data-subject deletion as the console does it (apps/console/src/data.ts): Postgres first (the
 * user's tombstone), then the trace ids the facts hold for the user are buried and deleted in
 * Postgres too, then the facts of every trace id found are deleted.
 */
async function deleteUserEverywhere(org: string, user: string): Promise<void> {
  const { trace_ids } = await store.forOrg(org).deleteUserData(user);
  const inFacts = (await facts.query<{ trace_id: string }>('SELECT DISTINCT trace_id FROM trace_facts_v1 WHERE org_id = {org:String} AND user_id = {user:String}', { org, user })).map((r) => r.trace_id);
  const extra = inFacts.filter((id) => !trace_ids.includes(id));
  if (extra.length > 0) await store.forOrg(org).deleteTraces(extra);
  await facts.deleteTraces(org, [...trace_ids, ...extra]);
}

function resultOf(trace: Trace): TierResult {
  return { evaluation_id: `${trace.trace_id}:1`, trace_id: trace.trace_id, org_id: trace.org_id, tier: 1, evaluated_at: Date.now(), trace_timestamp: trace.timestamp, passed: true, severity: 'none', score: 1, modules: [{ module: 'pii', version: '1', passed: true, score: 1, severity: 'none', labels: [], findings: [], latency_us: 1 }], latency_us: 1 };
}

describe('facts sinks and deletions', () => {
  it("drop a deleted user's records received before the deletion, and their evaluations; take later ones", async () => {
    const before = Date.now() - 60_000;
    const old = makeTrace({ org_id: 'org_del', user_id: 'alice', received_at: before });
    const other = makeTrace({ org_id: 'org_del', user_id: 'bob', received_at: before });
    await store.upsertTraces([old]);
    await store.forOrg('org_del').deleteUserData('alice');
    const traceSink = clickhouseTraceFactsSink(facts, { deletions: store });
    const evaluationSink = clickhouseEvaluationFactsSink(facts, { deletions: store });
    await write(traceSink, [old, other]);
    await write(evaluationSink, [resultOf(old), resultOf(other)]);
    expect(await count('trace_facts_v1', old.trace_id)).toBe(0);
    expect(await count('evaluation_facts_v1', old.trace_id)).toBe(0);
    expect(await count('trace_facts_v1', other.trace_id)).toBe(1);
    expect(await count('evaluation_facts_v1', other.trace_id)).toBe(1);
    const later = makeTrace({ org_id: 'org_del', user_id: 'alice', received_at: Date.now() + 1000 });
    await write(traceSink, [later]);
    expect(await count('trace_facts_v1', later.trace_id)).toBe(1);
  });

  it("leave no fact of a deleted user's trace whose evaluation facts landed before the deletion and the trace after it", async () => {
    const org = `org_del_${randomUUID().slice(0, 8)}`;
    const trace = makeTrace({ org_id: org, user_id: 'carol', received_at: Date.now() - 60_000 });
    const traceSink = clickhouseTraceFactsSink(facts, { deletions: store });
    await write(clickhouseEvaluationFactsSink(facts, { deletions: store }), [resultOf(trace)]);
    await write(clickhouseModuleResultFactsSink(facts, { deletions: store }), [resultOf(trace)]);
    // The deletion knows nothing of the trace yet: neither store holds it.
    await store.forOrg(org).deleteUserData('carol');
    await facts.deleteUserData(org, 'carol');
    await write(traceSink, [trace]);
    for (const table of ['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1']) expect(await count(table, trace.trace_id)).toBe(0);
    // Its tier results delivered again later are dropped: the trace's drop buried its id.
    await write(clickhouseEvaluationFactsSink(facts, { deletions: store }), [resultOf(trace)]);
    expect(await count('evaluation_facts_v1', trace.trace_id)).toBe(0);
  });

  it('leave no fact of a deleted user when the three facts sinks and the deletion run at the same time', async () => {
    const org = `org_race_${randomUUID().slice(0, 8)}`;
    const sinks = { traces: clickhouseTraceFactsSink(facts, { deletions: store }), evaluations: clickhouseEvaluationFactsSink(facts, { deletions: store }), modules: clickhouseModuleResultFactsSink(facts, { deletions: store }) };
    for (let round = 0; round < 3; round++) {
      const user = `user-${randomUUID()}`;
      const traces = Array.from({ length: 4 }, () => makeTrace({ org_id: org, user_id: user, received_at: Date.now() - 60_000 }));
      const feed = async <T>(sink: SinkTopology<any>, values: T[]) => {
        for (const value of [...values].sort(() => Math.random() - 0.5)) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
          await write(sink, [value]);
        }
      };
      await Promise.all([
        feed(sinks.traces, traces),
        feed(sinks.evaluations, traces.map(resultOf)),
        feed(sinks.modules, traces.map(resultOf)),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
          await deleteUserEverywhere(org, user);
        })(),
      ]);
      for (const t of traces) {
        for (const table of ['trace_facts_v1', 'evaluation_facts_v1', 'module_result_facts_v1']) expect({ round, table, n: await count(table, t.trace_id) }).toEqual({ round, table, n: 0 });
      }
    }
  });

  it('retry, not drop, when deletions cannot be checked', async () => {
    const failing = { deletedRecords: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) };
    await expect(withoutDeleted(failing, [1], () => ({ org_id: 'o', trace_id: 't' }))).rejects.toMatchObject({ name: 'InfrastructureError' });
    expect(await withoutDeleted(undefined, [1, 2], () => ({ org_id: 'o', trace_id: 't' }))).toEqual([1, 2]);
  });
});
