/**
 * A data-subject deletion racing the ingestion of that user's records, run against PGlite (unit) and
 * PostgreSQL (integration): whatever order the traces, verdicts and tier results of the user's traces
 * reach the sinks in — before the deletion, after it, or at the same moment — none of them is stored
 * once everything received before the deletion has been delivered.
 *
 * The sinks are the store's own upserts, called as the three Postgres sink groups call them: each
 * group in its own order, concurrently with each other and with the deletion.
 */
import { randomUUID } from 'node:crypto';
import { makeTrace, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RelationalStore } from '../src/types.js';
import { makeTierResult, makeVerdict } from './relational-contract.js';

interface UserRecords {
  userId: string;
  traces: Trace[];
  verdicts: Verdict[];
  results: TierResult[];
}

function userRecords(orgId: string, count: number): UserRecords {
  const userId = `user-${randomUUID()}`;
  const receivedAt = Date.now() - 60_000;
  const traces = Array.from({ length: count }, () => makeTrace({ org_id: orgId, user_id: userId, received_at: receivedAt }));
  return {
    userId,
    traces,
    verdicts: traces.map((t) => makeVerdict({ org_id: orgId, trace_id: t.trace_id, decided_at: receivedAt + 5 })),
    results: traces.map((t) => makeTierResult({ org_id: orgId, trace_id: t.trace_id, evaluated_at: receivedAt + 5 })),
  };
}

/** What is still stored of these traces, by table. */
async function leftOf(store: RelationalStore, orgId: string, records: UserRecords): Promise<{ traces: string[]; verdicts: string[]; evaluations: string[] }> {
  const scope = store.forOrg(orgId);
  const left = { traces: [] as string[], verdicts: [] as string[], evaluations: [] as string[] };
  for (const t of records.traces) {
    if ((await scope.getTrace(t.trace_id)) !== null) left.traces.push(t.trace_id);
    if ((await scope.getVerdict(t.trace_id)) !== null) left.verdicts.push(t.trace_id);
    if ((await scope.getEvaluations(t.trace_id)).length > 0) left.evaluations.push(t.trace_id);
  }
  return left;
}

const nothing = { traces: [], verdicts: [], evaluations: [] };

const shuffle = <T>(items: T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size));

const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));

export function describeDeletionRace(name: string, make: () => Promise<RelationalStore>): void {
  describe(`data-subject deletion racing ingestion: ${name}`, () => {
    let store: RelationalStore;
    const org = `org_race_${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      store = await make();
      await store.migrate();
    }, 60_000);

    it('leaves nothing of a trace whose verdict and tier result were stored before the deletion and the trace after it', async () => {
      const records = userRecords(org, 3);
      await store.upsertVerdicts(records.verdicts);
      await store.upsertEvaluations(records.results);
      await store.upsertTraces(records.traces.slice(0, 1));
      await store.forOrg(org).deleteUserData(records.userId);
      // The traces still in the log reach the sink only now; one's verdict is delivered once more.
      await store.upsertTraces(records.traces.slice(1));
      await store.upsertVerdicts(records.verdicts.slice(2));
      expect(await leftOf(store, org, records)).toEqual(nothing);
    });

    it('leaves nothing when the deletion comes between a trace and its verdict and tier result', async () => {
      const records = userRecords(org, 2);
      await store.forOrg(org).deleteUserData(records.userId);
      await store.upsertTraces(records.traces);
      await store.upsertVerdicts(records.verdicts);
      await store.upsertEvaluations(records.results);
      expect(await leftOf(store, org, records)).toEqual(nothing);
    });

    it('leaves nothing when the three sinks and the deletion run at the same time', async () => {
      for (let round = 0; round < 8; round++) {
        const records = userRecords(org, 16);
        const sink = async <T>(items: T[], write: (batch: T[]) => Promise<void>) => {
          for (const batch of chunks(shuffle(items), 1 + Math.floor(Math.random() * 4))) {
            await pause();
            await write(batch);
          }
        };
        const deletion = (async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
          await store.forOrg(org).deleteUserData(records.userId);
        })();
        await Promise.all([
          sink(records.traces, (b) => store.upsertTraces(b)),
          sink(records.verdicts, (b) => store.upsertVerdicts(b)),
          sink(records.results, (b) => store.upsertEvaluations(b)),
          // A second consumer of each group (a rebalance, a replay) delivering the same records again.
          sink(records.traces, (b) => store.upsertTraces(b)),
          sink(records.verdicts, (b) => store.upsertVerdicts(b)),
          deletion,
        ]);
        expect({ round, ...(await leftOf(store, org, records)) }).toEqual({ round, ...nothing });
      }
    });

    it('keeps what the user sends after the deletion', async () => {
      const records = userRecords(org, 1);
      await store.forOrg(org).deleteUserData(records.userId);
      const later = makeTrace({ org_id: org, user_id: records.userId, received_at: Date.now() + 1000 });
      await store.upsertVerdicts([makeVerdict({ org_id: org, trace_id: later.trace_id })]);
      await store.upsertTraces([later]);
      expect(await store.forOrg(org).getTrace(later.trace_id)).not.toBeNull();
      expect(await store.forOrg(org).getVerdict(later.trace_id)).not.toBeNull();
    });
  });
}
