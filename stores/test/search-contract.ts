/**
 * The trace-search contract of the RelationalStore (`OrgScope.searchTraces`): every filter, both
 * sorts in both directions, keyset pages that neither skip nor repeat, the verdict summary arriving
 * before or after its trace, full-text search, and another organization's rows never in an answer.
 * Run on PGlite (unit) and PostgreSQL (integration), like the rest of the store contract.
 */
import { randomUUID } from 'node:crypto';
import { makeTrace, type Trace } from '@metronis/schemas';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SessionSearch, TraceSearch, TraceSummaryRow } from '../src/search.js';
import type { RelationalStore } from '../src/types.js';
import { makeVerdict } from './relational-contract.js';

const T0 = Date.parse('2026-11-20T00:00:00Z');
const MIN = 60_000;

export function describeSearch(name: string, make: () => Promise<RelationalStore>): void {
  describe(`trace search contract: ${name}`, () => {
    let store: RelationalStore;
    const A = `org_sa_${randomUUID().slice(0, 8)}`;
    const B = `org_sb_${randomUUID().slice(0, 8)}`;
    const traces: Trace[] = [];
    const search = (org: string, q: Partial<TraceSearch> = {}) => store.forOrg(org).searchTraces({ sort: 'time', order: 'desc', limit: 100, ...q });
    const ids = (rows: TraceSummaryRow[]) => rows.map((r) => r.trace_id);

    beforeAll(async () => {
      store = await make();
      await store.migrate();
      for (let i = 0; i < 30; i++) {
        traces.push(
          makeTrace({
            org_id: A,
            trace_id: `t${String(i).padStart(2, '0')}`,
            // two traces share each minute, so ordering needs the trace id to break ties
            timestamp: T0 + Math.floor(i / 2) * MIN,
            received_at: T0 + Math.floor(i / 2) * MIN + 5,
            application: i % 3 === 0 ? 'checkout-bot' : 'support-bot',
            environment: i % 2 === 0 ? 'production' : 'staging',
            model: { provider: i % 5 === 0 ? 'anthropic' : 'openai', name: i % 5 === 0 ? 'claude-3' : 'gpt-4o', parameters_json: null },
            user_id: `user-${i % 4}`,
            session_id: `session-${i % 6}`,
            tags: i % 2 === 0 ? ['beta', 'eu'] : ['eu'],
            metadata: { team: i % 2 === 0 ? 'payments' : 'care', tier: 'gold' },
            input: i === 7 ? { text: null, messages: [{ role: 'user', content: 'Where is my parcel?' }, { role: 'user', content: 'Tracking number zebra42' }] } : { text: `Question number ${i} about invoices`, messages: [] },
            output: { content: i === 11 ? `Contact me at alice@example.com ${'x'.repeat(500)}` : `Answer ${i}`, finish_reason: 'stop' },
          }),
        );
      }
      // Verdicts for most: some before their trace lands (the triggers fill both ways), some after.
      const verdictOf = (t: Trace, i: number) =>
        makeVerdict({
          org_id: A,
          trace_id: t.trace_id,
          tier: i % 7 === 0 ? 2 : 1,
          passed: i % 4 !== 0,
          severity: (['none', 'low', 'medium', 'high', 'critical'] as const)[i % 5],
          score: 1 - (i % 5) / 5,
          finding_kinds: i % 4 === 0 ? ['pii.email', 'secret'] : [],
          failed_modules: i % 4 === 0 ? ['pii'] : [],
        });
      await store.upsertVerdicts(traces.slice(0, 10).map(verdictOf));
      await store.upsertTraces(traces);
      await store.upsertVerdicts(traces.slice(10, 25).map((t, j) => verdictOf(t, j + 10)));
      // Org B: the same ids and texts; never in org A's answers.
      await store.upsertTraces(traces.map((t) => ({ ...t, org_id: B, application: 'other-org-app' })));
      await store.upsertVerdicts(traces.map((t, i) => ({ ...verdictOf(t, i), org_id: B })));
    }, 60_000);

    it('answers summaries newest first, with the verdict copied on whichever arrived first', async () => {
      const rows = await search(A);
      expect(rows).toHaveLength(30);
      expect(ids(rows).slice(0, 3)).toEqual(['t29', 't28', 't27']);
      const t03 = rows.find((r) => r.trace_id === 't03')!;
      expect(t03).toMatchObject({ severity: 'high', severity_rank: 3, passed: true, decided_by_tier: 1, timestamp: T0 + MIN, received_at: T0 + MIN + 5 });
      const t12 = rows.find((r) => r.trace_id === 't12')!;
      expect(t12).toMatchObject({ severity: 'medium', passed: false, finding_kinds: ['pii.email', 'secret'], failed_modules: ['pii'] });
      expect(rows.find((r) => r.trace_id === 't27')).toMatchObject({ severity: null, severity_rank: -1, passed: null, score: null, decided_by_tier: null, finding_kinds: [] });
      expect(rows.filter((r) => r.severity === null).map((r) => r.trace_id)).toEqual(['t29', 't28', 't27', 't26', 't25']);
      expect(rows.find((r) => r.trace_id === 't07')!.preview.input).toBe('Where is my parcel?\n\nTracking number zebra42');
      expect(Array.from(rows.find((r) => r.trace_id === 't11')!.preview.output)).toHaveLength(200);
      expect(rows.every((r) => r.application !== 'other-org-app')).toBe(true);
    });

    it('follows a replaced verdict (a later tier, or a replay)', async () => {
      const [t29] = traces.slice(29);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: t29!.trace_id, tier: 3, passed: false, severity: 'low', finding_kinds: ['judge.wrong'], failed_modules: ['judge'] })]);
      expect((await search(A, { finding_kind: 'judge.wrong' })).map((r) => [r.trace_id, r.severity, r.decided_by_tier])).toEqual([['t29', 'low', 3]]);
      await store.upsertVerdicts([makeVerdict({ org_id: A, trace_id: t29!.trace_id, tier: 3, passed: true, severity: 'none', finding_kinds: [], failed_modules: [] })]);
      expect(await search(A, { finding_kind: 'judge.wrong' })).toEqual([]);
      expect((await search(A, { decided_by_tier: 3 })).map((r) => [r.trace_id, r.severity, r.passed])).toEqual([['t29', 'none', true]]);
    });

    it('pages by key without skipping or repeating, in both orders and both sorts', async () => {
      for (const sort of ['time', 'severity'] as const) {
        for (const order of ['desc', 'asc'] as const) {
          const all = ids(await search(A, { sort, order }));
          const paged: string[] = [];
          let after: TraceSearch['after'];
          for (let page = 0; page < 20; page++) {
            const rows = await search(A, { sort, order, limit: 7, after });
            paged.push(...ids(rows));
            if (rows.length < 7) break;
            const last = rows.at(-1)!;
            after = { timestamp: last.timestamp, trace_id: last.trace_id, severity_rank: last.severity_rank };
          }
          expect(paged, `${sort} ${order}`).toEqual(all);
          expect(new Set(paged).size).toBe(30);
        }
      }
      const bySeverity = await search(A, { sort: 'severity' });
      expect(bySeverity.map((r) => r.severity_rank)).toEqual([...bySeverity.map((r) => r.severity_rank)].sort((a, b) => b - a));
    });

    it('applies every filter, all of them together', async () => {
      const expectIds = async (q: Partial<TraceSearch>, predicate: (t: Trace, i: number) => boolean) => {
        const expected = traces.filter(predicate).map((t) => t.trace_id).sort().reverse();
        expect(ids(await search(A, q)), JSON.stringify(q)).toEqual(expected);
      };
      await expectIds({ from: T0 + 5 * MIN, to: T0 + 8 * MIN }, (t) => t.timestamp >= T0 + 5 * MIN && t.timestamp < T0 + 8 * MIN);
      await expectIds({ application: 'checkout-bot' }, (_t, i) => i % 3 === 0);
      await expectIds({ environment: 'production' }, (_t, i) => i % 2 === 0);
      await expectIds({ model_provider: 'anthropic', model_name: 'claude-3' }, (_t, i) => i % 5 === 0);
      await expectIds({ model_name: 'gpt-4o' }, (_t, i) => i % 5 !== 0);
      await expectIds({ user_id: 'user-1' }, (_t, i) => i % 4 === 1);
      await expectIds({ session_id: 'session-5' }, (_t, i) => i % 6 === 5);
      await expectIds({ tags: ['beta', 'eu'] }, (_t, i) => i % 2 === 0);
      await expectIds({ tags: ['eu'] }, () => true);
      await expectIds({ metadata: { team: 'care', tier: 'gold' } }, (_t, i) => i % 2 === 1);
      await expectIds({ severity: 'critical' }, (_t, i) => i < 25 && i % 5 === 4);
      await expectIds({ severity_at_least: 'high' }, (_t, i) => i < 25 && i % 5 >= 3);
      await expectIds({ passed: false }, (_t, i) => i < 25 && i % 4 === 0);
      await expectIds({ failed_module: 'pii' }, (_t, i) => i < 25 && i % 4 === 0);
      await expectIds({ finding_kind: 'secret' }, (_t, i) => i < 25 && i % 4 === 0);
      await expectIds({ decided_by_tier: 2 }, (_t, i) => i < 25 && i % 7 === 0);
      await expectIds({ text: 'zebra42' }, (_t, i) => i === 7);
      await expectIds({ text: 'alice@example.com' }, (_t, i) => i === 11);
      await expectIds({ text: 'invoices -"number 3"' }, (_t, i) => i !== 7 && i !== 3);
      await expectIds({ environment: 'production', passed: false, failed_module: 'pii', from: T0, to: T0 + 30 * MIN, text: 'invoices', tags: ['beta'] }, (_t, i) => i < 25 && i % 4 === 0);
      expect(await search(A, { application: 'other-org-app' })).toEqual([]);
      expect(await search(A, { user_id: 'a\u0000b' })).toEqual([]);
    });

    it('lists sessions, most recently active first, with their counts; filtered; paged by key; never another org\'s', async () => {
      // The reference: the sessions computed here from the search answer (every trace of A has a session).
      const expected = (rows: TraceSummaryRow[]) => {
        const by = new Map<string, TraceSummaryRow[]>();
        for (const r of rows) by.set(r.session_id!, [...(by.get(r.session_id!) ?? []), r]);
        return [...by.entries()]
          .map(([session_id, rs]) => ({
            session_id,
            first_at: Math.min(...rs.map((r) => r.timestamp)),
            last_at: Math.max(...rs.map((r) => r.timestamp)),
            traces: rs.length,
            failed: rs.filter((r) => r.passed === false).length,
            pending: rs.filter((r) => r.passed === null).length,
            worst_severity: (['none', 'low', 'medium', 'high', 'critical'] as const)[Math.max(...rs.map((r) => r.severity_rank))] ?? null,
            applications: [...new Set(rs.map((r) => r.application!))].sort(),
            user_ids: [...new Set(rs.map((r) => r.user_id!))].sort(),
          }))
          .sort((a, b) => b.last_at - a.last_at || (a.session_id < b.session_id ? 1 : -1));
      };
      const sessions = (q: Partial<SessionSearch> = {}) => store.forOrg(A).listSessions({ limit: 100, ...q });
      const all = await sessions();
      expect(all).toEqual(expected(await search(A)));
      expect(all.map((s) => s.session_id)).toEqual(['session-5', 'session-4', 'session-3', 'session-2', 'session-1', 'session-0']);
      expect(all.reduce((n, s) => n + s.traces, 0)).toBe(30);
      expect(await sessions({ application: 'checkout-bot', from: T0 + 3 * MIN, to: T0 + 12 * MIN })).toEqual(expected(await search(A, { application: 'checkout-bot', from: T0 + 3 * MIN, to: T0 + 12 * MIN })));
      expect(await sessions({ user_id: 'user-1', environment: 'staging' })).toEqual(expected(await search(A, { user_id: 'user-1', environment: 'staging' })));
      const failing = expected(await search(A)).filter((s) => s.failed > 0);
      expect(failing.length).toBeGreaterThan(0);
      expect(failing.length).toBeLessThan(6);
      expect(await sessions({ failed: true })).toEqual(failing);
      expect((await sessions({ failed: false })).map((s) => s.session_id)).toEqual(all.filter((s) => s.failed === 0).map((s) => s.session_id));
      const paged: string[] = [];
      let after: SessionSearch['after'];
      for (let page = 0; page < 10; page++) {
        const rows = await sessions({ limit: 4, after });
        paged.push(...rows.map((s) => s.session_id));
        if (rows.length < 4) break;
        after = { last_at: rows.at(-1)!.last_at, session_id: rows.at(-1)!.session_id };
      }
      expect(paged).toEqual(all.map((s) => s.session_id));
      expect((await store.forOrg(B).listSessions({ limit: 100 })).every((s) => s.applications.every((a) => a === 'other-org-app'))).toBe(true);
      expect(await sessions({ user_id: 'a\u0000b' })).toEqual([]);
      await expect(sessions({ limit: 0 })).rejects.toThrow();
    });
  });
}
