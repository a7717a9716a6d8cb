/**
 * Deletion and the compliance report, across Postgres and the facts store (admin scope).
 *
 * - `DELETE /v1/traces/:id`: the trace, its verdict and evaluations in Postgres, and its facts in
 *   ClickHouse, and a tombstone of the id. `200 { trace_id, deleted: { postgres, clickhouse } }` when
 *   something was stored; `202` with zero counts when nothing was (yet): the trace may still be on its
 *   way (accepted, not yet sunk), and whatever was received under that id before the deletion never
 *   appears. Recorded and audited either way; the id of another organization is untouched.
 * - `DELETE /v1/users/:user_id/data`: a data-subject request: every trace of that `user_id` with its
 *   verdicts, evaluations and facts. Always 200 with the counts (zero is an answer too), and recorded.
 *   Postgres first (the user's tombstone), then the trace ids the facts hold for the user, which
 *   Postgres may not know yet (its sink behind), are deleted and buried in Postgres too, then the
 *   facts of every trace id found are deleted. The tombstones come before the facts' reads, so a
 *   facts sink writing at the same moment either wrote before the read or drops what it writes.
 * - `GET /v1/compliance/report`: what is stored for this organization and where, its retention, PII
 *   masking, keys, and the deletions done.
 *
 * Postgres goes first, then the facts. If the facts store fails after Postgres deleted, the answer is
 * 503 and nothing is recorded: sending the same request again finishes the job (both deletes are
 * idempotent) and records it once. Each deletion recorded is audited (`trace.deleted`,
 * `user_data.deleted`) in the same transaction.
 */
import { DEFAULT_POLICY, parsePolicy } from '@metronis/evaluators';
import { Hono } from 'hono';
import { ApiError, requireScope, type ConsoleEnv } from './http.js';
import type { Tenant } from './tenant.js';

export interface DataRoutesOptions {
  /** How the relational store enforces retention, for the report (e.g. "every 1 h, in batches of 1000"). */
  retentionSchedule: string;
}

/** The longest id the public trace accepts (a user_id: 1,000 characters; a trace_id: 128). */
const MAX_ID_LENGTH = 1000;

function checkId(what: string, id: string): void {
  if (id.length === 0 || id.length > MAX_ID_LENGTH || id.includes('\u0000')) {
    throw new ApiError(400, 'invalid_id', `The ${what} must be 1 to ${MAX_ID_LENGTH} characters without U+0000.`);
  }
}

/** Runs `run` on the facts store (null without one); its failure is a 503 saying Postgres was done. */
async function deleteFacts<T>(tenant: Tenant, run: (facts: NonNullable<Tenant['facts']>) => Promise<T>): Promise<T | null> {
  if (tenant.facts === null) return null;
  try {
    return await run(tenant.facts);
  } catch (error) {
    throw new ApiError(503, 'facts_unavailable', 'Deleted from Postgres, but the facts store failed; send the same request again to finish.', {
      cause: error,
      headers: { 'Retry-After': '5' },
    });
  }
}

export function createDataRoutes(options: DataRoutesOptions): Hono<ConsoleEnv> {
  const routes = new Hono<ConsoleEnv>();

  routes.delete('/traces/:id', async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    checkId('trace id', id);
    const tenant = c.get('tenant');
    const postgres = await tenant.db.deleteTrace(id);
    const clickhouse = await deleteFacts(tenant, (facts) => facts.deleteTraces([id]));
    const total = postgres.traces + postgres.verdicts + postgres.evaluations + (clickhouse === null ? 0 : clickhouse.trace_facts + clickhouse.evaluation_facts + clickhouse.module_result_facts);
    const deleted = { postgres, clickhouse };
    await tenant.db.recordDeletion('trace', id, deleted, tenant.actor);
    // Nothing stored (yet): the tombstone keeps a trace still on its way from ever appearing.
    return c.json({ trace_id: id, deleted }, total === 0 ? 202 : 200);
  });

  routes.delete('/users/:user_id/data', async (c) => {
    requireScope(c, 'admin');
    const userId = c.req.param('user_id');
    checkId('user id', userId);
    const tenant = c.get('tenant');
    const { trace_ids, ...postgres } = await tenant.db.deleteUserData(userId);
    // The facts of the user's trace facts, and of the traces Postgres knew for the user (an evaluation
    // fact whose trace fact never landed carries no user id). Trace ids only the facts know are
    // deleted and buried in Postgres first: their verdicts may be there, and their tier results still
    // on their way must be dropped.
    const known = new Set(trace_ids);
    const onlyInFacts = ((await deleteFacts(tenant, (facts) => facts.userTraceIds(userId))) ?? []).filter((id) => !known.has(id));
    if (onlyInFacts.length > 0) {
      const more = await tenant.db.deleteTraces(onlyInFacts);
      postgres.traces += more.traces;
      postgres.verdicts += more.verdicts;
      postgres.evaluations += more.evaluations;
      trace_ids.push(...onlyInFacts);
    }
    const clickhouse = await deleteFacts(tenant, (facts) => facts.deleteTraces(trace_ids));
    const deleted = { postgres, clickhouse };
    await tenant.db.recordDeletion('user', userId, { ...deleted, trace_ids: trace_ids.length }, tenant.actor);
    return c.json({ user_id: userId, deleted, trace_ids });
  });

  routes.get('/compliance/report', async (c) => {
    requireScope(c, 'admin');
    const { db, facts } = c.get('tenant');
    const [org, postgres, clickhouse, deletions, keys, stored] = await Promise.all([
      db.getOrganization(),
      db.storedCounts(),
      facts === null ? Promise.resolve(null) : facts.storedCounts(),
      db.listDeletions(20),
      db.listApiKeys(),
      db.getPolicy(),
    ]);
    if (org === null) throw new ApiError(404, 'not_found', 'This organization has no record.');
    let maskPii = DEFAULT_POLICY.mask_pii_before_storage;
    try {
      if (stored !== null) maskPii = parsePolicy(stored.document).mask_pii_before_storage;
    } catch {
      // A stored policy that no longer validates is reported by GET /v1/policy; here the default holds.
    }
    const now = Date.now();
    return c.json({
      organization: { id: org.id, name: org.name },
      generated_at: new Date(now).toISOString(),
      retention: {
        days: org.retention_days,
        postgres: `rows older than ${org.retention_days} days are deleted ${options.retentionSchedule}`,
        clickhouse: 'each fact row carries the retention and a TTL drops it once expired; the per-minute rollups hold counts only, no trace content',
      },
      pii: { mask_pii_before_storage: maskPii, where: maskPii ? 'masked at the gateway, before anything is written' : 'stored as sent' },
      stored: { postgres, clickhouse },
      api_keys: {
        active: keys.filter((k) => k.revoked_at === null && (k.expires_at === null || k.expires_at.getTime() > now)).length,
        revoked: keys.filter((k) => k.revoked_at !== null).length,
        expired: keys.filter((k) => k.revoked_at === null && k.expires_at !== null && k.expires_at.getTime() <= now).length,
      },
      deletions,
    });
  });

  return routes;
}
