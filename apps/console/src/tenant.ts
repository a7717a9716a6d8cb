/**
 * The tenant of a request: everything a console handler may touch, already bound to the organization
 * of the API key. The authentication middleware builds it once per request (`tenantOf`) and handlers
 * read `c.get('tenant')`; none of them is handed the unscoped stores, so a route added later cannot
 * read or change another organization's rows by forgetting a filter. A trace id of another
 * organization is then simply not there: 404, never 403.
 *
 * @example
 *   const { db, facts, actor } = c.get('tenant');
 *   const trace = await db.getTrace(id); // this org's trace or null
 */
import type { AlertOrgScope, AnalyticsSqlResult, FactsDeletion, FactsInventory, FactsStore, OrgScope, RelationalStore, ScopedFacts } from '@metronis/stores';
import type { Principal } from './http.js';

/** This organization's facts (ClickHouse or chDB): reads, analytics SQL, deletion, retention and what is stored. */
export interface TenantFacts {
  /** the analytics API's reads: SQL that filters by {org_id:String}, always bound to this organization */
  query: ScopedFacts['query'];
  /** the organization's own SQL, confined by the engine to its rows (analytics SQL) */
  analyticsSql(sql: string): Promise<AnalyticsSqlResult>;
  deleteTraces(traceIds: string[]): Promise<FactsDeletion>;
  /** The trace ids whose trace facts carry this user id (every stored version). */
  userTraceIds(userId: string): Promise<string[]>;
  setRetention(days: number): Promise<void>;
  storedCounts(): Promise<FactsInventory>;
}

export interface Tenant {
  principal: Principal;
  /** this organization's relational data */
  db: OrgScope;
  /** this organization's alert rules, channels, silences, routing and history */
  alerts: AlertOrgScope;
  /** this organization's facts, or null when the console runs without a facts store */
  facts: TenantFacts | null;
  /** who acts, for audit entries */
  actor: { keyId: string; requestId: string };
}

/** The stores the console is built on; only `tenantOf` and the operator routes touch them. */
export interface TenantStores {
  store: Pick<RelationalStore, 'forOrg' | 'createOrganization' | 'alerts'>;
  facts?: Pick<FactsStore, 'forOrg' | 'deleteTraces' | 'setRetention' | 'analyticsSql'> | undefined;
}

export function tenantOf(stores: TenantStores, principal: Principal, requestId: string): Tenant {
  const { orgId } = principal;
  const facts = stores.facts;
  return {
    principal,
    db: stores.store.forOrg(orgId),
    alerts: stores.store.alerts.forOrg(orgId),
    facts:
      facts === undefined
        ? null
        : {
            query: (sql, params) => facts.forOrg(orgId).query(sql, params),
            analyticsSql: (sql) => facts.analyticsSql(orgId, sql),
            deleteTraces: (traceIds) => facts.deleteTraces(orgId, traceIds),
            userTraceIds: async (userId) =>
              (
                await facts
                  .forOrg(orgId)
                  .query<{ trace_id: string }>('SELECT DISTINCT trace_id FROM trace_facts_v1 WHERE org_id = {org_id:String} AND user_id = {user:String}', { user: userId })
              ).map((row) => row.trace_id),
            setRetention: (days) => facts.setRetention(orgId, days),
            storedCounts: () => facts.forOrg(orgId).storedCounts(),
          },
    actor: { keyId: principal.keyId, requestId },
  };
}
