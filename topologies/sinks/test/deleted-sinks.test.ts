/**
 * The facts sinks drop records whose trace or user was deleted after they were received (the
 * relational store's tombstones), so a replay or a lagging sink does not bring deleted data back into
 * ClickHouse; what arrives later for the same user is new data and lands. Real parts: PGlite and chDB.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTrace, type TierResult, type Trace } from '@metronis/schemas';
import { createChdbFactsStore, createPgliteStore, type FactsStore, type RelationalStore } from '@metronis/stores';
import type { SinkTopology } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseEvaluationFactsSink, clickhouseTraceFactsSink, withoutDeleted } from '../src/index.js';

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

function resultOf(trace: Trace): TierResult {
  return { evaluation_id: `${trace.trace_id}:1`, trace_id: trace.trace_id, org_id: trace.org_id, tier: 1, evaluated_at: Date.now(), trace_timestamp: trace.timestamp, passed: true, severity: 'none', score: 1, modules: [], latency_us: 1 };
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

  it('retry, not drop, when deletions cannot be checked', async () => {
    const failing = { deletedRecords: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) };
    await expect(withoutDeleted(failing, [1], () => ({ org_id: 'o', trace_id: 't' }))).rejects.toMatchObject({ name: 'InfrastructureError' });
    expect(await withoutDeleted(undefined, [1, 2], () => ({ org_id: 'o', trace_id: 't' }))).toEqual([1, 2]);
  });
});
