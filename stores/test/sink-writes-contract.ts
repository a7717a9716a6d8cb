/**
 * The sinks' set-based upserts (sink-sql.ts), run on PGlite (unit) and PostgreSQL (integration): a
 * redelivered batch changes no stored column (the search columns the triggers fill included), a
 * batch mixing new, repeated and newer records lands each key once with its last record, a deleted
 * trace's late records are refused in a batch that writes the others, and a trace masked at the
 * gateway is stored, filtered and searched only as masked, its later masked record winning over an
 * earlier unmasked one in the same batch.
 */
import { randomUUID } from 'node:crypto';
import { makeTrace, type Trace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelationalStore } from '../src/types.js';
import { makeTierResult, makeVerdict } from './relational-contract.js';

export interface SinkWritesSubject {
  store: RelationalStore;
  /** a read straight from the database, bypassing the store */
  rows(text: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Every column of an org's rows of a table, as text, in key order: what a redelivery must not change. */
async function snapshot(subject: SinkWritesSubject, table: 'traces' | 'verdicts' | 'evaluations', org: string): Promise<string[]> {
  const key = table === 'evaluations' ? 'evaluation_id' : 'trace_id';
  const rows = await subject.rows(`SELECT row_to_json(x)::text AS row FROM ${table} x WHERE org_id = $1 ORDER BY ${key}`, [org]);
  return rows.map((r) => String(r.row));
}

export function describeSinkWrites(name: string, make: () => Promise<SinkWritesSubject>): void {
  describe(`sink writes: ${name}`, () => {
    let subject: SinkWritesSubject;
    let store: RelationalStore;
    const org = () => `org_sw_${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      subject = await make();
      store = subject.store;
      await store.migrate();
    }, 60_000);

    afterAll(async () => {
      await subject?.close();
    });

    it('changes nothing when a batch is delivered again, search columns and trigger-filled summaries included', async () => {
      const o = org();
      const traces = Array.from({ length: 5 }, (_, i) => makeTrace({ org_id: o, user_id: `u${i}`, output: { content: `answer about parcels ${i}`, finish_reason: 'stop' } }));
      const verdicts = traces.map((t, i) => makeVerdict({ org_id: o, trace_id: t.trace_id, passed: i % 2 === 0, severity: i % 2 === 0 ? 'none' : 'high', score: i / 10 }));
      const results = traces.map((t) => makeTierResult({ org_id: o, trace_id: t.trace_id }));
      await store.upsertVerdicts(verdicts.slice(0, 2)); // some verdicts before their traces: the triggers fill both ways
      await store.upsertTraces(traces);
      await store.upsertVerdicts(verdicts);
      await store.upsertEvaluations(results);
      const before = { traces: await snapshot(subject, 'traces', o), verdicts: await snapshot(subject, 'verdicts', o), evaluations: await snapshot(subject, 'evaluations', o) };
      expect(before.traces).toHaveLength(5);
      expect(before.traces.join()).toMatch(/"severity":"high"/);

      await store.upsertTraces(traces);
      await store.upsertVerdicts(verdicts);
      await store.upsertEvaluations(results);
      await store.upsertTraces([...traces].reverse()); // the same records in another order
      expect({ traces: await snapshot(subject, 'traces', o), verdicts: await snapshot(subject, 'verdicts', o), evaluations: await snapshot(subject, 'evaluations', o) }).toEqual(before);
      const found = await store.forOrg(o).searchTraces({ sort: 'time', order: 'desc', limit: 10, text: 'parcels' });
      expect(found.map((r) => r.trace_id).sort()).toEqual(traces.map((t) => t.trace_id).sort());
    });

    it('lands each key of a batch mixing new, repeated and newer records once, with its last record', async () => {
      const o = org();
      const [a, b, c] = [makeTrace({ org_id: o, trace_id: 'a' }), makeTrace({ org_id: o, trace_id: 'b' }), makeTrace({ org_id: o, trace_id: 'c' })];
      await store.upsertTraces([a!, b!]);
      const newerA = { ...a!, output: { content: 'newer answer', finish_reason: 'stop' as const } };
      const newerC = { ...c!, application: 'second-app' };
      await store.upsertTraces([b!, c!, newerA, b!, newerC]);
      expect(await store.getTrace(o, 'a')).toEqual(newerA);
      expect(await store.getTrace(o, 'b')).toEqual(b);
      expect(await store.getTrace(o, 'c')).toEqual(newerC);
      expect(await subject.rows('SELECT trace_id, application FROM traces WHERE org_id = $1 ORDER BY trace_id', [o])).toEqual([
        { trace_id: 'a', application: a!.application ?? null },
        { trace_id: 'b', application: b!.application ?? null },
        { trace_id: 'c', application: 'second-app' },
      ]);

      const v1 = makeVerdict({ org_id: o, trace_id: 'a', severity: 'low' });
      const v2 = makeVerdict({ org_id: o, trace_id: 'a', severity: 'critical' });
      const r1 = makeTierResult({ org_id: o, trace_id: 'b' });
      await store.upsertVerdicts([v1, makeVerdict({ org_id: o, trace_id: 'b' }), v2]);
      await store.upsertEvaluations([r1, { ...r1, score: 0.9 }, makeTierResult({ org_id: o, trace_id: 'c' })]);
      expect(await store.getVerdict(o, 'a')).toEqual(v2);
      expect(await store.getEvaluations(o, 'b')).toEqual([{ ...r1, score: 0.9 }]);
      expect(await subject.rows('SELECT count(*)::int AS n FROM evaluations WHERE org_id = $1', [o])).toEqual([{ n: 2 }]);
      // The verdict's summary reached its trace through the trigger, as the last verdict says.
      expect(await subject.rows("SELECT severity FROM traces WHERE org_id = $1 AND trace_id = 'a'", [o])).toEqual([{ severity: 'critical' }]);
    });

    it("refuses a deleted trace's late records in a batch that writes the others, and does not bring it back", async () => {
      const o = org();
      const receivedAt = Date.now() - 60_000;
      const gone = makeTrace({ org_id: o, received_at: receivedAt });
      const kept = makeTrace({ org_id: o, received_at: receivedAt });
      await store.upsertTraces([gone, kept]);
      await store.upsertVerdicts([makeVerdict({ org_id: o, trace_id: gone.trace_id })]);
      await store.forOrg(o).deleteTraces([gone.trace_id]);

      // The log delivers the trace, its verdict and tier result again (a lagging sink, a replay), beside live records.
      const lateVerdict = makeVerdict({ org_id: o, trace_id: gone.trace_id, decided_at: Date.now() });
      const lateResult = makeTierResult({ org_id: o, trace_id: gone.trace_id });
      const liveVerdict = makeVerdict({ org_id: o, trace_id: kept.trace_id });
      const liveResult = makeTierResult({ org_id: o, trace_id: kept.trace_id });
      await store.upsertTraces([gone, kept]);
      await store.upsertVerdicts([lateVerdict, liveVerdict]);
      await store.upsertEvaluations([liveResult, lateResult]);
      expect(await store.getTrace(o, gone.trace_id)).toBeNull();
      expect(await store.getVerdict(o, gone.trace_id)).toBeNull();
      expect(await store.getEvaluations(o, gone.trace_id)).toEqual([]);
      expect(await store.getTrace(o, kept.trace_id)).toEqual(kept);
      expect(await store.getVerdict(o, kept.trace_id)).toEqual(liveVerdict);
      expect(await store.getEvaluations(o, kept.trace_id)).toEqual([liveResult]);
      expect(await store.deletedRecords([{ org_id: o, trace_id: gone.trace_id, made_at: Date.now() }, { org_id: o, trace_id: kept.trace_id, made_at: Date.now() }])).toEqual(new Set([0]));

      // A trace of a deleted user arriving late: dropped, buried, and its verdict that came first deleted.
      const userTrace = makeTrace({ org_id: o, user_id: 'carol', received_at: receivedAt });
      await store.forOrg(o).deleteUserData('carol');
      await store.upsertVerdicts([makeVerdict({ org_id: o, trace_id: userTrace.trace_id })]);
      expect(await store.getVerdict(o, userTrace.trace_id)).not.toBeNull(); // no trace of that id was known yet
      await store.upsertTraces([userTrace, makeTrace({ org_id: o, user_id: 'dave', trace_id: 'dave-1' })]);
      expect(await store.getTrace(o, userTrace.trace_id)).toBeNull();
      expect(await store.getVerdict(o, userTrace.trace_id)).toBeNull();
      expect(await store.getTrace(o, 'dave-1')).not.toBeNull();
      await store.upsertVerdicts([makeVerdict({ org_id: o, trace_id: userTrace.trace_id })]);
      expect(await store.getVerdict(o, userTrace.trace_id)).toBeNull();
      // A new trace under a deleted trace id, received after the deletion, is new data and lands.
      const again = makeTrace({ org_id: o, trace_id: gone.trace_id, received_at: Date.now() + 1000 });
      await store.upsertTraces([again]);
      expect(await store.getTrace(o, gone.trace_id)).toEqual(again);
    });

    it('stores values holding the quoting tags, quotes and replacement patterns exactly', async () => {
      const o = org();
      const tricky = "$j$ $j0$ $j1$ $$ $1 $& $' $` '; DROP TABLE traces; -- \\ \" \u2028 %00";
      const trace = makeTrace({ org_id: o, application: tricky, input: { text: tricky, messages: [] }, output: { content: `${tricky}$j$`, finish_reason: 'stop' }, metadata: { [tricky]: tricky } });
      const verdict = makeVerdict({ org_id: o, trace_id: trace.trace_id, application: tricky, finding_kinds: [tricky] });
      await store.upsertTraces([trace]);
      await store.upsertVerdicts([verdict]);
      expect(await store.getTrace(o, trace.trace_id)).toEqual(trace);
      expect(await store.getVerdict(o, trace.trace_id)).toEqual(verdict);
      expect(await subject.rows('SELECT application FROM traces WHERE org_id = $1', [o])).toEqual([{ application: tricky }]);
    });

    it('stores, filters and searches a trace masked at the gateway only as masked; the last record of a batch wins', async () => {
      const o = org();
      const original: Trace = makeTrace({
        org_id: o,
        user_id: 'alice@example.com',
        input: { text: 'My email is alice@example.com', messages: [] },
        output: { content: 'We wrote to alice@example.com', finish_reason: 'stop' },
      });
      // What the gateway's maskTrace makes of it when the org's policy says mask_pii_before_storage.
      const masked: Trace = {
        ...original,
        user_id: '[EMAIL_1]',
        input: { text: 'My email is [EMAIL_1]', messages: [] },
        output: { content: 'We wrote to [EMAIL_1]', finish_reason: 'stop' },
        pii_masked: true,
      };
      // The policy switched on between two deliveries of the same trace id: the later (masked) record wins.
      await store.upsertTraces([original, masked]);
      expect(await store.getTrace(o, original.trace_id)).toEqual(masked);
      const stored = await subject.rows('SELECT user_id, record::text AS record, search_tsv::text AS tsv FROM traces WHERE org_id = $1', [o]);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.user_id).toBe('[EMAIL_1]');
      expect(`${stored[0]!.record} ${stored[0]!.tsv}`).not.toMatch(/alice/);
      const search = (text: string) => store.forOrg(o).searchTraces({ sort: 'time', order: 'desc', limit: 10, text });
      expect(await search('alice')).toEqual([]);
      expect((await search('wrote')).map((r) => r.trace_id)).toEqual([original.trace_id]);
      // Redelivering the masked record keeps it masked.
      await store.upsertTraces([masked]);
      expect(await store.getTrace(o, original.trace_id)).toEqual(masked);
    });
  });
}
