/**
 * The public trace's bounds (schemas/src/bounds.ts) and the stores agree: a trace at every bound that
 * the gateway accepts is stored and read back by Postgres (PGlite) and the facts store (chDB), and a
 * record one step past a bound is refused by the store alone, naming the record, instead of failing
 * the statement of the whole sink batch. Found by an outside probe: 1,000 CJK characters in a short
 * text passed validation and overflowed a Postgres index entry; a timestamp in year 10000 passed
 * validation and failed every sink.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SHORT_TEXT_BYTES, MAX_TIMESTAMP_MS, MAX_UINT32, makeTrace, publicTraceSchema, toTraceRecord, type Trace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbFactsStore } from '../src/clickhouse/chdb.js';
import { createPgliteStore } from '../src/postgres/pglite.js';
import { InvalidRecordError, type FactsStore, type RelationalStore, type TraceFact } from '../src/index.js';

/** Characters of 3 bytes of UTF-8 that do not compress (a b-tree entry is compressed when it can be). */
const cjk = (n: number, seed: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919 + seed * 104_729) % 20_000))).join('');
const atBound = (seed: number) => cjk(Math.floor(MAX_SHORT_TEXT_BYTES / 3), seed);

/** A public trace at its bounds, through the schema and the Avro mapping, as the gateway makes it. */
function traceAtBounds(timestamp: number | string): Trace {
  const body = {
    trace_id: `bounds-${String(timestamp).replace(/[^0-9]/g, "")}`,
    timestamp,
    input: 'q',
    output: 'a',
    application: atBound(1),
    environment: atBound(2),
    model: { provider: atBound(3), name: atBound(4) },
    user_id: atBound(5),
    session_id: atBound(6),
    usage: { input_tokens: MAX_UINT32, output_tokens: MAX_UINT32, cost_usd: 1e308 },
    latency_ms: MAX_UINT32,
  };
  const parsed = publicTraceSchema.safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return toTraceRecord(parsed.data!, { orgId: 'org_bounds', receivedAt: MAX_TIMESTAMP_MS, generateId: () => 'unused' });
}

function factOf(trace: Trace): TraceFact {
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

describe('the public trace bounds and the stores agree', () => {
  let store: RelationalStore;
  let facts: FactsStore;
  let dir: string;

  beforeAll(async () => {
    store = createPgliteStore({});
    await store.migrate();
    dir = await mkdtemp(join(tmpdir(), 'metronis-bounds-'));
    facts = await createChdbFactsStore({ path: dir });
    await facts.migrate();
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await facts?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores and reads back a trace at every bound in Postgres', async () => {
    const traces = [traceAtBounds(MAX_TIMESTAMP_MS), traceAtBounds('9999-12-31T23:59:59.999Z'), traceAtBounds(0), traceAtBounds('1970-01-01T01:00:00+01:00')];
    await store.upsertTraces(traces);
    for (const trace of traces) expect(await store.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
  });

  it('stores a trace fact at every bound in the facts store', async () => {
    // Stamped now: the facts' TTL (retention from the timestamp) drops an older row at insert.
    const trace = traceAtBounds(Date.now());
    await facts.insertTraceFacts([factOf(trace)]);
    const rows = await facts.query<{ n: string }>('SELECT count() AS n FROM trace_facts_v1 WHERE trace_id = {id:String} AND input_tokens = {max:UInt32}', { id: trace.trace_id, max: MAX_UINT32 });
    expect(Number(rows[0]?.n)).toBe(1);
  });

  it('refuses a record one step past a bound, alone and naming it, in both stores', async () => {
    const fine = makeTrace({ org_id: 'org_bounds' });
    const past: [string, Partial<Trace>][] = [
      ['timestamp', { timestamp: MAX_TIMESTAMP_MS + 1 }],
      ['received_at', { received_at: -1 }],
      ['user_id', { user_id: `${atBound(7)}é` }],
      ['model.name', { model: { provider: null, name: `${atBound(8)}ab`, parameters_json: null } }],
    ];
    for (const [field, change] of past) {
      const bad = makeTrace({ org_id: 'org_bounds', ...change });
      const refused = await store.upsertTraces([fine, bad]).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused, field).toBeInstanceOf(InvalidRecordError);
      expect((refused as InvalidRecordError).recordIndex, field).toBe(1);
      expect((refused as Error).message, field).toContain(field);
    }
    for (const [field, value] of [
      ['timestamp', MAX_TIMESTAMP_MS + 1],
      ['input_tokens', MAX_UINT32 + 1],
    ] as const) {
      const refused = await facts.insertTraceFacts([factOf(fine), { ...factOf(fine), [field]: value }]).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused, field).toBeInstanceOf(InvalidRecordError);
      expect((refused as InvalidRecordError).recordIndex, field).toBe(1);
    }
  });
});
