/**
 * The tenancy contract of the RelationalStore (org scopes, keys, audit, deletions, retention), run
 * against PGlite (unit) and PostgreSQL (integration) like the rest of the store contract.
 */
import { createHash, randomUUID } from 'node:crypto';
import { makeTrace } from '@metronis/schemas';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InvalidRecordError } from '../src/errors.js';
import type { RelationalStore } from '../src/types.js';
import { makeTierResult, makeVerdict } from './relational-contract.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const DAY = 86_400_000;

/** A store, and a way to run raw SQL on the same database as the application's role. */
export interface TenancyFixture {
  store: RelationalStore;
  raw(statement: string): Promise<unknown>;
}

export function describeTenancy(name: string, make: () => Promise<TenancyFixture>): void {
  describe(`tenancy contract: ${name}`, () => {
    let store: RelationalStore;
    let raw: TenancyFixture['raw'];
    const A = `org_a_${randomUUID().slice(0, 8)}`;
    const B = `org_b_${randomUUID().slice(0, 8)}`;
    const cli = { keyId: 'cli', orgId: A };

    beforeAll(async () => {
      ({ store, raw } = await make());
      await store.migrate();
      await store.createOrganization({ id: A, name: 'Alpha', operator: true }, cli);
      await store.createOrganization({ id: B, name: 'Beta', retention_days: 30 }, cli);
    }, 60_000);

    it('creates organizations once, audited in the acting org and the new one', async () => {
      await expect(store.createOrganization({ id: B, name: 'again' }, cli)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.forOrg(B).getOrganization()).toMatchObject({ id: B, name: 'Beta', retention_days: 30, operator: false, rate_limits: null });
      const created = await store.forOrg(A).listAudit({ action: 'organization.created', limit: 10 });
      expect(created.map((e) => e.target)).toEqual(expect.arrayContaining([A, B]));
      expect(await store.forOrg(B).listAudit({ limit: 10 })).toMatchObject([{ action: 'organization.created', target: B, actor: 'cli' }]);
      await expect(store.createOrganization({ id: 'x', name: '' }, cli)).rejects.toBeInstanceOf(InvalidRecordError);
      await expect(store.createOrganization({ id: 'y', name: 'ok', retention_days: 0 }, cli)).rejects.toBeInstanceOf(InvalidRecordError);
    });

    it('keeps every read of a scope inside its organization', async () => {
      const id = `shared-${randomUUID()}`;
      await store.upsertTraces([makeTrace({ org_id: A, trace_id: id, user_id: 'alice' }), makeTrace({ org_id: B, trace_id: id, user_id: 'bob' })]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: id })]);
      await store.upsertEvaluations([makeTierResult({ org_id: A, trace_id: id })]);
      expect((await store.forOrg(A).getTrace(id))?.user_id).toBe('alice');
      expect((await store.forOrg(B).getTrace(id))?.user_id).toBe('bob');
      expect(await store.forOrg(B).getVerdict(id)).toBeNull();
      expect(await store.forOrg(B).getEvaluations(id)).toEqual([]);
      expect(await store.forOrg(A).getEvaluations(id)).toHaveLength(1);
      expect(() => store.forOrg('')).toThrow(InvalidRecordError);
    });

    it('creates, lists and revokes keys within the organization, each change audited', async () => {
      const actor = { keyId: 'key_admin_a', requestId: 'req-1' };
      const key = await store.forOrg(A).createApiKey({ id: `key_${randomUUID()}`, hash: sha(randomUUID()), prefix: 'mtr_abcd', name: 'ci', scopes: ['ingest'], expires_at: null }, actor);
      expect(key).toMatchObject({ org_id: A, name: 'ci', scopes: ['ingest'], created_by: 'key_admin_a', revoked_at: null });
      expect((await store.forOrg(A).listApiKeys()).map((k) => k.id)).toContain(key.id);
      expect((await store.forOrg(B).listApiKeys()).map((k) => k.id)).not.toContain(key.id);
      expect(await store.forOrg(B).revokeApiKey(key.id, actor)).toBeNull();
      const revoked = await store.forOrg(A).revokeApiKey(key.id, actor);
      expect(revoked?.revoked_at).toBeInstanceOf(Date);
      const again = await store.forOrg(A).revokeApiKey(key.id, actor);
      expect(again?.revoked_at?.getTime()).toBe(revoked?.revoked_at?.getTime());
      const audit = await store.forOrg(A).listAudit({ target: key.id, limit: 10 });
      expect(audit.map((e) => e.action)).toEqual(['key.revoked', 'key.created']);
      expect(audit[0]).toMatchObject({ actor: 'key_admin_a', request_id: 'req-1' });
      expect((await store.findApiKeyByHash(sha('nothing')))).toBeNull();
    });

    it('keeps the audit log append-only, even for the application', async () => {
      const entry = await store.forOrg(A).audit('replay.started', 'tier1', { from: 'earliest' }, { keyId: 'cli' });
      await expect(store.forOrg(A).listAudit({ action: 'replay.started', limit: 1 })).resolves.toMatchObject([{ id: entry.id, target: 'tier1' }]);
      await expect(raw(`UPDATE audit_log SET actor = 'someone' WHERE id = ${entry.id}`)).rejects.toThrow(/append-only/);
      await expect(raw(`DELETE FROM audit_log WHERE id = ${entry.id}`)).rejects.toThrow(/append-only/);
      await expect(raw('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
      expect((await store.forOrg(A).listAudit({ action: 'replay.started', limit: 1 }))[0]?.actor).toBe('cli');
    });

    it('filters and pages the audit log', async () => {
      const scope = store.forOrg(B);
      for (let i = 0; i < 5; i++) await scope.audit('replay.started', `t${i}`, {}, { keyId: i % 2 === 0 ? 'even' : 'odd' });
      const page1 = await scope.listAudit({ action: 'replay.started', limit: 2 });
      expect(page1.map((e) => e.target)).toEqual(['t4', 't3']);
      const page2 = await scope.listAudit({ action: 'replay.started', limit: 2, beforeId: page1[1]!.id });
      expect(page2.map((e) => e.target)).toEqual(['t2', 't1']);
      expect((await scope.listAudit({ actor: 'even', limit: 10 })).map((e) => e.target)).toEqual(['t4', 't2', 't0']);
      expect(await scope.listAudit({ since: new Date(Date.now() + DAY), limit: 10 })).toEqual([]);
    });

    it('deletes a trace with its verdict and evaluations, in its organization only', async () => {
      const id = `del-${randomUUID()}`;
      await store.upsertTraces([makeTrace({ org_id: A, trace_id: id }), makeTrace({ org_id: B, trace_id: id })]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: id })]);
      await store.upsertEvaluations([makeTierResult({ org_id: A, trace_id: id })]);
      expect(await store.forOrg(A).deleteTrace(id)).toEqual({ traces: 1, verdicts: 1, evaluations: 1 });
      expect(await store.forOrg(A).deleteTrace(id)).toEqual({ traces: 0, verdicts: 0, evaluations: 0 });
      expect(await store.forOrg(B).getTrace(id)).not.toBeNull();
    });

    it("deletes a user's traces and records the deletion for the report", async () => {
      const user = `user-${randomUUID()}`;
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      await store.upsertTraces([...ids.map((trace_id) => makeTrace({ org_id: B, trace_id, user_id: user })), makeTrace({ org_id: A, user_id: user })]);
      await store.upsertVerdicts(ids.map((trace_id) => makeVerdict({ org_id: B, trace_id })));
      const result = await store.forOrg(B).deleteUserData(user);
      expect(result).toMatchObject({ traces: 3, verdicts: 3, evaluations: 0 });
      expect([...result.trace_ids].sort()).toEqual([...ids].sort());
      const before = await store.forOrg(B).listDeletions(10);
      await store.forOrg(B).recordDeletion('user', user, { postgres: result }, { keyId: 'key_b', requestId: 'r-9' });
      const after = await store.forOrg(B).listDeletions(10);
      expect(after.total).toBe(before.total + 1);
      expect(after.recent[0]).toMatchObject({ kind: 'user', subject: user, actor: 'key_b', request_id: 'r-9' });
      expect((await store.forOrg(B).listAudit({ action: 'user_data.deleted', limit: 1 }))[0]?.target).toBe(user);
      expect((await store.forOrg(A).storedCounts()).traces).toBeGreaterThan(0);
    });

    it('does not write again what was deleted after it was received (a replay, a lagging sink), but takes new data', async () => {
      const scope = store.forOrg(A);
      const before = Date.now() - 60_000;
      const trace = makeTrace({ org_id: A, received_at: before });
      await store.upsertTraces([trace]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: trace.trace_id })]);
      await scope.deleteTrace(trace.trace_id);
      // The same records delivered again: dropped, and B's trace with the same id is not affected.
      await store.upsertTraces([trace, makeTrace({ org_id: B, trace_id: trace.trace_id, received_at: before })]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: trace.trace_id })]);
      await store.upsertEvaluations([makeTierResult({ org_id: A, trace_id: trace.trace_id })]);
      expect(await scope.getTrace(trace.trace_id)).toBeNull();
      expect(await scope.getVerdict(trace.trace_id)).toBeNull();
      expect(await scope.getEvaluations(trace.trace_id)).toEqual([]);
      expect(await store.forOrg(B).getTrace(trace.trace_id)).not.toBeNull();
      // The id sent again later is new data.
      const resent = { ...trace, received_at: Date.now() + 1000 };
      await store.upsertTraces([resent]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: trace.trace_id })]);
      expect(await scope.getTrace(trace.trace_id)).not.toBeNull();
      expect(await scope.getVerdict(trace.trace_id)).not.toBeNull();

      // A user's data: what was received before the deletion stays out, even a trace that was still
      // in the log (never stored) and its verdict; what the user sends later lands.
      const user = `user-${randomUUID()}`;
      const stored = makeTrace({ org_id: A, user_id: user, received_at: before });
      const inFlight = makeTrace({ org_id: A, user_id: user, received_at: before });
      await store.upsertTraces([stored]);
      await scope.deleteUserData(user);
      await store.upsertTraces([stored, inFlight]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: inFlight.trace_id })]);
      expect(await scope.getTrace(stored.trace_id)).toBeNull();
      expect(await scope.getTrace(inFlight.trace_id)).toBeNull();
      expect(await scope.getVerdict(inFlight.trace_id)).toBeNull();
      const later = makeTrace({ org_id: A, user_id: user, received_at: Date.now() + 1000 });
      await store.upsertTraces([later]);
      expect(await scope.getTrace(later.trace_id)).not.toBeNull();
      const dropped = await store.deletedRecords([
        { org_id: A, trace_id: stored.trace_id, user_id: user, received_at: before },
        { org_id: A, trace_id: randomUUID(), user_id: user, received_at: Date.now() + 5000 },
        { org_id: B, trace_id: randomUUID(), user_id: user, received_at: before },
      ]);
      expect([...dropped]).toEqual([0]);
    });

    it('sets retention and rate limits, audited, and refuses bad retention', async () => {
      const scope = store.forOrg(B);
      expect(await scope.setRetention(7, { keyId: 'key_b' })).toMatchObject({ retention_days: 7 });
      expect((await scope.listAudit({ action: 'retention.changed', limit: 1 }))[0]?.details).toEqual({ from: 30, to: 7 });
      for (const bad of [0, -1, 1.5, 3651, Number.NaN]) await expect(scope.setRetention(bad, { keyId: 'key_b' })).rejects.toBeInstanceOf(InvalidRecordError);
      expect(await store.forOrg('org_missing').setRetention(5, { keyId: 'k' })).toBeNull();
      expect(await scope.setRateLimits({ requests_per_second: 5 }, { keyId: 'key_b' })).toMatchObject({ rate_limits: { requests_per_second: 5 } });
      expect(await scope.setRateLimits(null, { keyId: 'key_b' })).toMatchObject({ rate_limits: null });
    });

    it('enforces retention by when traces were received, in batches: old rows go, recent rows and other organizations stay', async () => {
      const scope = store.forOrg(B);
      await scope.setRetention(7, { keyId: 'key_b' });
      const now = Date.now();
      const old = Array.from({ length: 5 }, () => makeTrace({ org_id: B, received_at: now - 10 * DAY, timestamp: now - 10 * DAY }));
      // The client's clock says nothing about when Metronis got the trace: a far-future stamp expires
      // on schedule, an old stamp received yesterday stays.
      const futureStamped = makeTrace({ org_id: B, received_at: now - 10 * DAY, timestamp: now + 3000 * DAY });
      const oldStamped = makeTrace({ org_id: B, received_at: now - DAY, timestamp: now - 400 * DAY });
      const fresh = makeTrace({ org_id: B, received_at: now - DAY, timestamp: now - DAY });
      const oldInA = makeTrace({ org_id: A, received_at: now - 10 * DAY, timestamp: now - 10 * DAY }); // A keeps 90 days
      await store.upsertTraces([...old, futureStamped, oldStamped, fresh, oldInA]);
      const oldVerdicts = old.map((t) => makeVerdict({ org_id: B, trace_id: t.trace_id, decided_at: now - 10 * DAY }));
      await store.upsertVerdicts(oldVerdicts);
      const orphan = makeVerdict({ org_id: B, decided_at: now - 9 * DAY });
      await store.upsertVerdicts([orphan]);
      const results = await store.enforceRetention({ now, batchSize: 2, maxBatches: 100 });
      const forB = results.find((r) => r.org_id === B);
      expect(forB).toMatchObject({ traces: 6, verdicts: 6 });
      for (const t of [...old, futureStamped]) expect(await scope.getTrace(t.trace_id)).toBeNull();
      expect(await scope.getTrace(fresh.trace_id)).not.toBeNull();
      expect(await scope.getTrace(oldStamped.trace_id)).not.toBeNull();
      expect(await scope.getVerdict(orphan.trace_id)).toBeNull();
      expect(await store.forOrg(A).getTrace(oldInA.trace_id)).not.toBeNull();
      expect((await scope.listDeletions(5)).recent.some((d) => d.kind === 'retention')).toBe(true);

      // What retention deleted stays deleted when the log delivers it again (a replay of the sinks),
      // even after the retention grows again; what was received since lands.
      await scope.setRetention(30, { keyId: 'key_b' });
      await store.enforceRetention({ now, batchSize: 2, maxBatches: 100 });
      const later = makeTrace({ org_id: B, received_at: now });
      await store.upsertTraces([...old, futureStamped, later]);
      await store.upsertVerdicts([...oldVerdicts, orphan]);
      await store.upsertEvaluations(old.map((t) => makeTierResult({ org_id: B, trace_id: t.trace_id, evaluated_at: now - 10 * DAY })));
      for (const t of [...old, futureStamped]) {
        expect(await scope.getTrace(t.trace_id)).toBeNull();
        expect(await scope.getVerdict(t.trace_id)).toBeNull();
        expect(await scope.getEvaluations(t.trace_id)).toEqual([]);
      }
      expect(await scope.getVerdict(orphan.trace_id)).toBeNull();
      expect(await scope.getTrace(later.trace_id)).not.toBeNull();
      const dropped = await store.deletedRecords([
        { org_id: B, trace_id: old[0]!.trace_id, received_at: now - 10 * DAY },
        { org_id: B, trace_id: randomUUID(), made_at: now - 8 * DAY },
        { org_id: B, trace_id: randomUUID(), received_at: now - DAY },
        { org_id: A, trace_id: randomUUID(), received_at: now - 10 * DAY },
      ]);
      expect([...dropped].sort()).toEqual([0, 1]);
      await scope.setRetention(7, { keyId: 'key_b' });
    });
  });
}

