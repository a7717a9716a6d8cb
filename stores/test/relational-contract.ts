/**
 * The RelationalStore contract, run against every implementation (PGlite in unit tests, PostgreSQL in
 * integration tests): `describeRelationalStore('pglite', (opts) => createPgliteStore(opts))`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { makeTrace, type TierResult, type Verdict } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The error taxonomy of the stream runtime, imported from its file so these tests load nothing else.
import { isRetriable } from '../../streams/src/errors.js';
import { InvalidRecordError, StoreError } from '../src/errors.js';
import type { RelationalStore } from '../src/types.js';

export interface MakeStoreOptions {
  maxRowsPerStatement?: number;
}

export function makeVerdict(overrides: Partial<Verdict> = {}): Verdict {
  return {
    trace_id: randomUUID(),
    org_id: 'org_test',
    tier: 1,
    decided_at: Date.now(),
    passed: false,
    severity: 'high',
    score: 0.25,
    finding_kinds: ['pii.email'],
    failed_modules: ['pii'],
    application: 'test-app',
    environment: 'test',
    ...overrides,
  };
}

/** A tier result with one failed module; `evaluation_id` follows the `${trace_id}:${tier}` rule. */
export function makeTierResult(overrides: Partial<TierResult> = {}): TierResult {
  const trace_id = overrides.trace_id ?? randomUUID();
  const tier = overrides.tier ?? 1;
  return {
    evaluation_id: `${trace_id}:${tier}`,
    trace_id,
    org_id: 'org_test',
    tier,
    evaluated_at: Date.now(),
    trace_timestamp: Date.now() - 1000,
    passed: false,
    severity: 'critical',
    score: 0.2,
    modules: [
      {
        module: 'pii',
        version: '1.0.0',
        passed: false,
        score: 0.2,
        severity: 'critical',
        labels: ['pii'],
        findings: [{ kind: 'credit_card', message: 'a card number', field: 'output', start: 3, end: 19, confidence: 0.99 }],
        latency_us: 42,
      },
    ],
    latency_us: 120,
    ...overrides,
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, it resolved');
}

export function describeRelationalStore(name: string, make: (options?: MakeStoreOptions) => Promise<RelationalStore>): void {
  describe(`RelationalStore contract: ${name}`, () => {
    let store: RelationalStore;
    const org = () => `org_${randomUUID()}`;

    // PGlite compiles its WASM on first use: slow on a busy machine.
    beforeAll(async () => {
      store = await make();
      await store.migrate();
    }, 60_000);
    afterAll(async () => {
      await store?.close();
    });

    it('migrates idempotently and answers ping', async () => {
      await store.migrate();
      await store.ping();
      expect(store.kind).toBe(name);
    });

    it('stores a trace and reads it back unchanged', async () => {
      const trace = makeTrace({
        org_id: org(),
        input: { text: null, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] },
        context: [{ id: 'd1', content: 'doc', source: 's3://x', score: 0.5 }],
        metadata: { team: 'search', 'a b': 'c' },
        tags: ['x', 'y'],
        user_id: 'u1',
        session_id: 's1',
      });
      await store.upsertTraces([trace]);
      expect(await store.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
    });

    it('returns null for an unknown trace and accepts an empty batch', async () => {
      await store.upsertTraces([]);
      expect(await store.getTrace(org(), randomUUID())).toBeNull();
    });

    it('lands a trace delivered twice once, the later delivery replacing the earlier', async () => {
      const first = makeTrace({ org_id: org(), output: { content: 'first', finish_reason: 'stop' } });
      const second = { ...first, output: { content: 'second', finish_reason: 'length' } };
      await store.upsertTraces([first]);
      await store.upsertTraces([first]);
      await store.upsertTraces([second]);
      expect(await store.getTrace(first.org_id, first.trace_id)).toEqual(second);
    });

    it('accepts a batch holding the same trace twice: the last one wins', async () => {
      const o = org();
      const a = makeTrace({ org_id: o, output: { content: 'a1', finish_reason: null } });
      const b = makeTrace({ org_id: o });
      const aAgain = { ...a, output: { content: 'a2', finish_reason: null } };
      await store.upsertTraces([a, b, aAgain]);
      expect((await store.getTrace(o, a.trace_id))?.output.content).toBe('a2');
      expect(await store.getTrace(o, b.trace_id)).toEqual(b);
    });

    it('scopes every read by organization', async () => {
      const traceId = randomUUID();
      const mine = makeTrace({ org_id: org(), trace_id: traceId, output: { content: 'mine', finish_reason: null } });
      const theirs = makeTrace({ org_id: org(), trace_id: traceId, output: { content: 'theirs', finish_reason: null } });
      await store.upsertTraces([mine, theirs]);
      expect((await store.getTrace(mine.org_id, traceId))?.output.content).toBe('mine');
      expect((await store.getTrace(theirs.org_id, traceId))?.output.content).toBe('theirs');
      expect(await store.getTrace(org(), traceId)).toBeNull();

      await store.upsertVerdicts([makeVerdict({ org_id: mine.org_id, trace_id: traceId })]);
      expect(await store.getVerdict(mine.org_id, traceId)).not.toBeNull();
      expect(await store.getVerdict(theirs.org_id, traceId)).toBeNull();
    });

    it('stores U+0000 anywhere in a trace and reads it back unchanged', async () => {
      const trace = makeTrace({
        org_id: org(),
        application: 'app\u0000x',
        model: { provider: 'open\u0000ai', name: 'gpt\u0000', parameters_json: '{"stop":"\\u0000"}' },
        input: { text: null, messages: [{ role: 'user', content: '\u0000start %00 and %25 and 100% \u0000\u0000' }] },
        output: { content: 'a\u0000b', finish_reason: null },
        metadata: { 'key\u0000': 'value\u0000', plain: '%' },
        tags: ['\u0000', '%2500'],
        user_id: 'user\u0000',
        session_id: '\u0000',
      });
      await store.upsertTraces([trace]);
      expect(await store.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
    });

    it('leaves percent sequences alone in traces without U+0000', async () => {
      const trace = makeTrace({ org_id: org(), output: { content: 'literal %00 and %25 stay as typed', finish_reason: null } });
      await store.upsertTraces([trace]);
      expect(await store.getTrace(trace.org_id, trace.trace_id)).toEqual(trace);
    });

    it('refuses U+0000 inside an id with a clear, non-retriable error', async () => {
      const trace = makeTrace({ org_id: org(), trace_id: 'bad\u0000id' });
      const error = await rejection(store.upsertTraces([trace]));
      expect(error).toBeInstanceOf(InvalidRecordError);
      expect(String((error as Error).message)).toMatch(/record 0: trace_id .*U\+0000/);
      expect((error as InvalidRecordError).recordIndex).toBe(0);
      expect(isRetriable(error)).toBe(false);
    });

    it('refuses an invalid record before writing anything, naming its index', async () => {
      const o = org();
      const good = makeTrace({ org_id: o });
      const error = await rejection(store.upsertTraces([good, makeTrace({ org_id: o }), makeTrace({ org_id: o, timestamp: Number.NaN })]));
      expect(error).toBeInstanceOf(InvalidRecordError);
      expect((error as InvalidRecordError).recordIndex).toBe(2);
      expect((error as Error).message).toMatch(/record 2: timestamp must be epoch milliseconds/);
      expect(isRetriable(error)).toBe(false);
      expect(await store.getTrace(o, good.trace_id)).toBeNull();
    });

    it('reports a value the database rejects as a store error that is not retriable', async () => {
      // tier is a smallint: 100000 is out of range (SQLSTATE 22003), a data error.
      const error = await rejection(store.upsertVerdicts([makeVerdict({ org_id: org(), tier: 100_000 })]));
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toMatch(/upsertVerdicts/);
      expect(isRetriable(error)).toBe(false);
    });

    it('splits a large batch into several statements and lands every trace once', { timeout: 60_000 }, async () => {
      const small = await make({ maxRowsPerStatement: 7 });
      try {
        await small.migrate();
        const o = org();
        const batch = Array.from({ length: 40 }, (_, i) => makeTrace({ org_id: o, trace_id: `t${String(i).padStart(2, '0')}` }));
        const replaced = { ...batch[3]!, output: { content: 'replaced', finish_reason: null } };
        await small.upsertTraces([...batch, batch[10]!, replaced]);
        for (const trace of batch) {
          const stored = await small.getTrace(o, trace.trace_id);
          expect(stored).toEqual(trace.trace_id === 't03' ? replaced : trace);
        }
      } finally {
        await small.close();
      }
    });

    it('upserts verdicts by (org, trace), last one wins, and reads them back', async () => {
      const o = org();
      const v1 = makeVerdict({ org_id: o, tier: 1, passed: true, severity: 'none', score: 1 });
      const v2 = { ...v1, tier: 2, passed: false, severity: 'critical' as const, score: 0, finding_kinds: ['x\u0000y'] };
      await store.upsertVerdicts([v1, v2]);
      expect(await store.getVerdict(o, v1.trace_id)).toEqual(v2);
      await store.upsertVerdicts([v1]);
      expect(await store.getVerdict(o, v1.trace_id)).toEqual(v1);
      expect(await store.getVerdict(o, randomUUID())).toBeNull();
    });

    it('upserts tier results by (org, evaluation id), last one wins, and lists a trace\'s results by tier', async () => {
      const o = org();
      const traceId = randomUUID();
      const tier2 = makeTierResult({ org_id: o, trace_id: traceId, tier: 2, passed: true, severity: 'none', score: 0.9 });
      const tier1 = makeTierResult({ org_id: o, trace_id: traceId, tier: 1 });
      const tier1Again = { ...tier1, score: 0.1, latency_us: 7 };
      const elsewhere = makeTierResult({ org_id: o });
      await store.upsertEvaluations([tier2, tier1, elsewhere]);
      await store.upsertEvaluations([tier1Again, tier1Again]);
      expect(await store.getEvaluations(o, traceId)).toEqual([tier1Again, tier2]);
      expect(await store.getEvaluations(o, elsewhere.trace_id)).toEqual([elsewhere]);
      expect(await store.getEvaluations(org(), traceId)).toEqual([]);
      await store.upsertEvaluations([]);
      expect(await store.getEvaluations(o, randomUUID())).toEqual([]);
    });

    it('stores U+0000 inside a tier result and reads it back unchanged', async () => {
      const base = makeTierResult({ org_id: org() });
      const result = { ...base, modules: [{ ...base.modules[0]!, labels: ['a\u0000'], findings: [{ ...base.modules[0]!.findings[0]!, message: 'x\u0000y %00 %25' }] }] };
      await store.upsertEvaluations([result]);
      expect(await store.getEvaluations(result.org_id, result.trace_id)).toEqual([result]);
    });

    it('refuses a tier result with a bad id or time before writing anything, naming its index', async () => {
      const o = org();
      const good = makeTierResult({ org_id: o });
      const badId = await rejection(store.upsertEvaluations([good, makeTierResult({ org_id: o, evaluation_id: 'e\u0000' })]));
      expect(badId).toBeInstanceOf(InvalidRecordError);
      expect((badId as Error).message).toMatch(/upsertEvaluations: record 1: evaluation_id .*U\+0000/);
      expect(isRetriable(badId)).toBe(false);
      const noTrace = await rejection(store.upsertEvaluations([makeTierResult({ org_id: o, trace_id: '' })]));
      expect((noTrace as Error).message).toMatch(/record 0: trace_id must be a non-empty string/);
      const badTime = await rejection(store.upsertEvaluations([good, makeTierResult({ org_id: o, trace_timestamp: Number.NaN })]));
      expect((badTime as InvalidRecordError).recordIndex).toBe(1);
      expect((badTime as Error).message).toMatch(/trace_timestamp must be epoch milliseconds/);
      expect(await store.getEvaluations(o, good.trace_id)).toEqual([]);
    });

    it('has no policy for a new organization, then versions every save', async () => {
      const o = org();
      expect(await store.getPolicy(o)).toBeNull();
      const first = await store.putPolicy(o, { mask_pii_before_storage: true, modules: { pii: { enabled: true } } });
      expect(first.version).toBe(1);
      expect(first.updated_at).toBeInstanceOf(Date);
      expect(await store.getPolicy(o)).toEqual({ document: { mask_pii_before_storage: true, modules: { pii: { enabled: true } } }, version: 1, updated_at: first.updated_at });

      const second = await store.putPolicy(o, { mask_pii_before_storage: false });
      expect(second.version).toBe(2);
      expect(second.updated_at.getTime()).toBeGreaterThanOrEqual(first.updated_at.getTime());
      expect(await store.getPolicy(o)).toEqual({ document: { mask_pii_before_storage: false }, version: 2, updated_at: second.updated_at });
      expect(await store.getPolicy(org())).toBeNull();
    });

    it('gives concurrent policy saves distinct versions', async () => {
      const o = org();
      const saved = await Promise.all([1, 2, 3, 4, 5].map((n) => store.putPolicy(o, { n })));
      expect(saved.map((s) => s.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
      const stored = await store.getPolicy(o);
      expect(stored?.version).toBe(5);
      // the document stored is the one of the save that got the last version (save i wrote { n: i + 1 })
      expect(stored?.document).toEqual({ n: saved.findIndex((s) => s.version === 5) + 1 });
    });

    it('keeps U+0000 in a policy document and refuses a document that is not an object', async () => {
      const o = org();
      await store.putPolicy(o, { pattern: 'a\u0000b', note: '100%' });
      expect((await store.getPolicy(o))?.document).toEqual({ pattern: 'a\u0000b', note: '100%' });
      for (const bad of [null, [1], 'text', 3]) {
        const error = await rejection(store.putPolicy(o, bad));
        expect(error).toBeInstanceOf(InvalidRecordError);
        expect((error as Error).message).toMatch(/putPolicy: the policy of "org_.*" must be a JSON object/);
      }
      await expect(store.putPolicy('', {})).rejects.toThrow(/org_id must be a non-empty string/);
      expect((await store.getPolicy(o))?.version).toBe(1);
    });

    it('ensures an organization once and keeps its first name', async () => {
      const id = org();
      const created = await store.ensureOrganization(id, 'Acme');
      expect(created).toMatchObject({ id, name: 'Acme' });
      expect(created.created_at).toBeInstanceOf(Date);
      const again = await store.ensureOrganization(id, 'Renamed');
      expect(again).toEqual(created);
      await expect(store.ensureOrganization('', 'x')).rejects.toThrow(/organization id must be a non-empty string/);
      await expect(store.ensureOrganization(org(), 'a\u0000b')).rejects.toThrow(/organization name .* contains U\+0000/);
    });

    it('stores an API key by hash, idempotently, and finds it', async () => {
      const o = org();
      await store.ensureOrganization(o, 'Keys Inc');
      const hash = sha256(`mk_${randomUUID()}`);
      const expires = new Date(Date.now() + 86_400_000);
      const key = { id: `key_${randomUUID()}`, org_id: o, hash, prefix: 'mk_abcd', scopes: ['ingest', 'read'] as const, expires_at: expires };
      await store.putApiKey({ ...key, scopes: [...key.scopes] });
      await store.putApiKey({ ...key, scopes: [...key.scopes] });
      expect(await store.findApiKeyByHash(hash)).toEqual({ id: key.id, org_id: o, prefix: 'mk_abcd', scopes: ['ingest', 'read'], expires_at: expires, revoked_at: null, hash });
      expect(await store.findApiKeyByHash(sha256('unknown'))).toBeNull();
      expect(await store.findApiKeyByHash('not-a-hash')).toBeNull();
    });

    it('refuses a key with a malformed hash or an unknown scope', async () => {
      const o = org();
      await store.ensureOrganization(o, 'x');
      const badHash = await rejection(store.putApiKey({ id: 'k1', org_id: o, hash: 'abc', prefix: 'p', scopes: ['read'] }));
      expect(badHash).toBeInstanceOf(InvalidRecordError);
      expect((badHash as Error).message).toMatch(/SHA-256/);
      const badScope = await rejection(store.putApiKey({ id: 'k2', org_id: o, hash: sha256('k2'), prefix: 'p', scopes: ['root' as 'read'] }));
      expect((badScope as Error).message).toMatch(/unknown scope "root"/);
    });

    it('refuses a key for an organization that does not exist, not retriable', async () => {
      const error = await rejection(store.putApiKey({ id: `key_${randomUUID()}`, org_id: org(), hash: sha256(randomUUID()), prefix: 'p', scopes: ['read'] }));
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toMatch(/putApiKey/);
      expect(isRetriable(error)).toBe(false);
    });
  });
}
