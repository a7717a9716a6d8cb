/**
 * Deletion and the compliance report, across Postgres and the facts store (admin scope).
 *
 * - `DELETE /v1/traces/:id`: the trace, its verdict and evaluations in Postgres, and its facts in
 *   ClickHouse. `200 { trace_id, deleted: { postgres, clickhouse } }`; 404 when neither store held it.
 * - `DELETE /v1/users/:user_id/data`: a data-subject request: every trace of that `user_id` with its
 *   verdicts, evaluations and facts. Always 200 with the counts (zero is an answer too), and recorded.
 * - `GET /v1/compliance/report`: what is stored for this organization and where, its retention, PII
 *   masking, keys, and the deletions done.
 *
 * Postgres goes first, then the facts. If the facts store fails after Postgres deleted, the answer is
 * 503 and nothing is recorded: sending the same request again finishes the job (both deletes are
 * idempotent) and records it once. Each deletion recorded is audited (`trace.deleted`,
 * `user_data.deleted`) in the same transaction.
 */
import { DEFAULT_POLICY, parsePolicy } from '@metronis/evaluators';
import type { FactsDeletion } from '@metronis/stores';
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

async function deleteFacts(tenant: Tenant, run: (facts: NonNullable<Tenant['facts']>) => Promise<FactsDeletion>): Promise<FactsDeletion | null> {
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
    if (total === 0) throw new ApiError(404, 'not_found', `No trace with id '${id.slice(0, 200)}'.`);
    const deleted = { postgres, clickhouse };
    await tenant.db.recordDeletion('trace', id, deleted, tenant.actor);
    return c.json({ trace_id: id, deleted });
  });

  routes.delete('/users/:user_id/data', async (c) => {
    requireScope(c, 'admin');
    const userId = c.req.param('user_id');
    checkId('user id', userId);
    const tenant = c.get('tenant');
    const { trace_ids, ...postgres } = await tenant.db.deleteUserData(userId);
    // The facts of the user's trace facts, and of the traces Postgres knew for the user (an evaluation
    // fact whose trace fact never landed carries no user id).
    const clickhouse = await deleteFacts(tenant, async (facts) => {
      const byUser = await facts.deleteUserData(userId);
      if (trace_ids.length === 0) return byUser;
      const byTrace = await facts.deleteTraces(trace_ids);
      return {
        trace_facts: byUser.trace_facts + byTrace.trace_facts,
        evaluation_facts: byUser.evaluation_facts + byTrace.evaluation_facts,
        module_result_facts: byUser.module_result_facts + byTrace.module_result_facts,
      };
    });
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
