/**
 * Finding traces (scope read or admin), over the tenant's `searchTraces`:
 *
 * - `GET /v1/traces?from=&to=&application=&environment=&model_provider=&model_name=&user_id=&session_id=
 *   &tag=<t>(repeatable)&metadata.<key>=<value>(repeatable)&severity=&severity_at_least=&passed=
 *   &failed_module=&finding_kind=&decided_by_tier=&q=&sort=time|severity&order=desc|asc&limit=&cursor=`
 *   → `{ items: TraceSummary[], next_cursor }`, every filter ANDed.
 * - `GET /v1/sessions?from=&to=&application=&environment=&user_id=&failed=&limit=&cursor=` →
 *   `{ items: SessionSummary[], next_cursor }`: sessions, the most recently active first; the filters
 *   choose the traces counted, `failed=true|false` keeps sessions with or without a failed trace.
 * - `GET /v1/sessions/:id` → `{ session_id, items, next_cursor }`: the session's traces, oldest first.
 * - `GET /v1/users/:id/traces` → as `GET /v1/traces`, for one user_id (every other filter allowed).
 *
 * Paging is by key: `next_cursor` is opaque (base64url of the last row's sort key and a hash binding
 * it to the organization and to the query's filters and order); it is null on the last page. A
 * cursor of another organization or another query, or one that does not decode, is a 400 naming
 * `cursor`. The hash is not a secret and need not be: the cursor only says where to continue, and
 * every read is scoped to the key's organization anyway; the binding catches a cursor reused with
 * changed filters, which would otherwise page silently through a different result.
 *
 * Any other problem with the query is a 400 `invalid_query` whose issues name the parameter
 * (`$.query.limit`): an unknown parameter, a wrong type, a value given twice that may be given once,
 * a time range whose `from` is not before its `to`.
 */
import { createHash } from 'node:crypto';
import { SEVERITIES, type Severity } from '@metronis/schemas';
import type { SessionSearch, SessionSummaryRow, TraceSearch, TraceSearchKey, TraceSummaryRow } from '@metronis/stores';
import { Hono, type Context } from 'hono';
import { ApiError, requireScope, type ConsoleEnv } from './http.js';
import { invalidQuery, QueryReader } from './query.js';

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;
const MAX_TEXT = 1000;
const MAX_QUERY_TEXT = 500;
const MAX_METADATA_KEY = 256;

/** The filters of GET /v1/traces, in the order the OpenAPI document lists them. */
export const TRACE_FILTERS = [
  'from',
  'to',
  'application',
  'environment',
  'model_provider',
  'model_name',
  'user_id',
  'session_id',
  'tag',
  'severity',
  'severity_at_least',
  'passed',
  'failed_module',
  'finding_kind',
  'decided_by_tier',
  'q',
  'sort',
  'order',
] as const;
const PAGING = ['limit', 'cursor'] as const;

/** The JSON of one trace in a list. */
export interface TraceSummary {
  trace_id: string;
  timestamp: string;
  received_at: string;
  application: string | null;
  environment: string | null;
  model: { provider: string | null; name: string | null } | null;
  user_id: string | null;
  session_id: string | null;
  severity: Severity | null;
  passed: boolean | null;
  score: number | null;
  finding_kinds: string[];
  failed_modules: string[];
  decided_by_tier: number | null;
  preview: { input: string; output: string };
}

export function traceSummary(row: TraceSummaryRow): TraceSummary {
  return {
    trace_id: row.trace_id,
    timestamp: new Date(row.timestamp).toISOString(),
    received_at: new Date(row.received_at).toISOString(),
    application: row.application,
    environment: row.environment,
    model: row.model_provider === null && row.model_name === null ? null : { provider: row.model_provider, name: row.model_name },
    user_id: row.user_id,
    session_id: row.session_id,
    severity: row.severity,
    passed: row.passed,
    score: row.score,
    finding_kinds: row.finding_kinds,
    failed_modules: row.failed_modules,
    decided_by_tier: row.decided_by_tier,
    preview: row.preview,
  };
}

/** What a route lets a caller filter on, and the filters its path fixes. */
interface QueryShape {
  allowed: ReadonlySet<string>;
  metadata: boolean;
  fixed: Partial<TraceSearch>;
  /** names the route in the cursor binding (e.g. `session:<id>`) */
  scope: string;
  defaults: Pick<TraceSearch, 'sort' | 'order'>;
}

/** The search a query string asks for, with the page's start; throws a 400 naming each bad parameter. */
export function parseTraceQuery(url: string, orgId: string, shape: QueryShape): { search: TraceSearch; binding: string } {
  const q = new QueryReader(url, shape.allowed, { ...(shape.metadata ? { prefix: 'metadata.' } : {}), repeatable: ['tag'] });
  const metadata: Record<string, string> = {};
  for (const [key, value] of q.prefixed) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY) q.problem(`metadata.${key}`, `the metadata key must be 1 to ${MAX_METADATA_KEY} characters`);
    else if (value.length > MAX_TEXT) q.problem(`metadata.${key}`, `at most ${MAX_TEXT} characters`);
    // defineProperty: a key "__proto__" is a key like any other, not the object's prototype.
    else Object.defineProperty(metadata, key, { value, enumerable: true, configurable: true, writable: true });
  }
  const tags = q.all('tag');
  for (const tag of tags) if (tag.length === 0 || tag.length > MAX_TEXT) q.problem('tag', `each tag must be 1 to ${MAX_TEXT} characters`);
  const search: TraceSearch = {
    from: q.time('from'),
    to: q.time('to'),
    application: q.text('application', MAX_TEXT),
    environment: q.text('environment', MAX_TEXT),
    model_provider: q.text('model_provider', MAX_TEXT),
    model_name: q.text('model_name', MAX_TEXT),
    user_id: q.text('user_id', MAX_TEXT),
    session_id: q.text('session_id', MAX_TEXT),
    tags: tags.length === 0 ? undefined : [...new Set(tags)].sort(),
    metadata: Object.keys(metadata).length === 0 ? undefined : metadata,
    severity: q.choice('severity', SEVERITIES),
    severity_at_least: q.choice('severity_at_least', SEVERITIES),
    passed: q.boolean('passed'),
    failed_module: q.text('failed_module', MAX_TEXT),
    finding_kind: q.text('finding_kind', MAX_TEXT),
    decided_by_tier: q.integer('decided_by_tier', 0, 32767),
    text: q.text('q', MAX_QUERY_TEXT),
    sort: q.choice('sort', ['time', 'severity'] as const) ?? shape.defaults.sort,
    order: q.choice('order', ['desc', 'asc'] as const) ?? shape.defaults.order,
    limit: q.integer('limit', 1, MAX_PAGE) ?? DEFAULT_PAGE,
    ...shape.fixed,
  };
  q.range(search.from, search.to);
  const cursor = q.one('cursor');
  q.done();

  const binding = bindingOf(orgId, shape.scope, search);
  if (cursor !== undefined) search.after = decodeCursor(cursor, binding, search.sort);
  return { search, binding };
}

/** A hash of the organization, the route and every filter and the order: what a cursor belongs to. */
function bindingOf(orgId: string, scope: string, search: TraceSearch): string {
  const { limit: _limit, after: _after, metadata, ...rest } = search;
  const canonical = JSON.stringify([orgId, scope, Object.entries(rest).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)), Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

export function encodeCursor(binding: string, row: TraceSummaryRow, sort: TraceSearch['sort']): string {
  return encodeKey(binding, sort === 'severity' ? [row.severity_rank, row.timestamp, row.trace_id] : [row.timestamp, row.trace_id]);
}

const encodeKey = (binding: string, key: unknown[]) => Buffer.from(JSON.stringify({ v: 1, b: binding, k: key })).toString('base64url');

function badCursor(message: string): never {
  invalidQuery([{ path: '$.query.cursor', message }]);
}

const NOT_OURS = 'not a cursor this API gave out (pass next_cursor as it was answered)';

/** The key a cursor holds, once it is known to be one of ours and of this query. */
function decodeKey(cursor: string, binding: string): unknown[] {
  if (cursor.length === 0 || cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) badCursor(NOT_OURS);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    badCursor(NOT_OURS);
  }
  const c = parsed as { v?: unknown; b?: unknown; k?: unknown };
  if (c === null || typeof c !== 'object' || c.v !== 1 || typeof c.b !== 'string' || !Array.isArray(c.k)) badCursor(NOT_OURS);
  if (c.b !== binding) badCursor('belongs to another query or organization: page with the same filters and order that gave it, or start again without a cursor');
  return c.k as unknown[];
}

const validMs = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && !Number.isNaN(new Date(value).getTime());

function decodeCursor(cursor: string, binding: string, sort: TraceSearch['sort']): TraceSearchKey {
  const key = decodeKey(cursor, binding);
  const [rank, timestamp, traceId] = sort === 'severity' ? key : [undefined, ...key];
  const validTime = validMs(timestamp);
  const validRank = sort !== 'severity' || (typeof rank === 'number' && Number.isInteger(rank) && rank >= -1 && rank <= 4);
  if (key.length !== (sort === 'severity' ? 3 : 2) || !validTime || !validRank || typeof traceId !== 'string' || traceId.length === 0 || traceId.length > MAX_TEXT) {
    badCursor(NOT_OURS);
  }
  return { timestamp: timestamp as number, trace_id: traceId as string, ...(sort === 'severity' ? { severity_rank: rank as number } : {}) };
}

async function page(c: Context<ConsoleEnv>, shape: QueryShape) {
  requireScope(c, 'read', 'admin');
  const { db, principal } = c.get('tenant');
  const { search, binding } = parseTraceQuery(c.req.url, principal.orgId, shape);
  // One row more than asked tells whether there is a next page.
  const rows = await db.searchTraces({ ...search, limit: search.limit + 1 });
  const items = rows.slice(0, search.limit);
  const last = items.at(-1);
  return { items: items.map(traceSummary), next_cursor: rows.length > search.limit && last !== undefined ? encodeCursor(binding, last, search.sort) : null };
}

function pathId(c: Context<ConsoleEnv>, name: string, what: string): string {
  const id = c.req.param(name) ?? '';
  if (id.length === 0 || id.length > MAX_TEXT || id.includes('\u0000')) throw new ApiError(400, 'invalid_id', `The ${what} must be 1 to ${MAX_TEXT} characters without U+0000.`);
  return id;
}

/** The JSON of one session in the list. */
export interface SessionSummary {
  session_id: string;
  first_at: string;
  last_at: string;
  traces: number;
  failed: number;
  pending: number;
  worst_severity: Severity | null;
  applications: string[];
  user_ids: string[];
}

const sessionSummary = (row: SessionSummaryRow): SessionSummary => ({ ...row, first_at: new Date(row.first_at).toISOString(), last_at: new Date(row.last_at).toISOString() });

export const SESSION_FILTERS = ['from', 'to', 'application', 'environment', 'user_id', 'failed'] as const;

async function sessionPage(c: Context<ConsoleEnv>): Promise<{ items: SessionSummary[]; next_cursor: string | null }> {
  requireScope(c, 'read', 'admin');
  const { db, principal } = c.get('tenant');
  const q = new QueryReader(c.req.url, [...SESSION_FILTERS, ...PAGING]);
  const search: SessionSearch = {
    from: q.time('from'),
    to: q.time('to'),
    application: q.text('application', MAX_TEXT),
    environment: q.text('environment', MAX_TEXT),
    user_id: q.text('user_id', MAX_TEXT),
    failed: q.boolean('failed'),
    limit: q.integer('limit', 1, MAX_PAGE) ?? DEFAULT_PAGE,
  };
  q.range(search.from, search.to);
  const cursor = q.one('cursor');
  q.done();
  const { limit: _limit, ...filters } = search;
  const binding = createHash('sha256')
    .update(JSON.stringify([principal.orgId, 'sessions', Object.entries(filters).filter(([, v]) => v !== undefined)]))
    .digest('base64url')
    .slice(0, 22);
  if (cursor !== undefined) {
    const [lastAt, sessionId, ...rest] = decodeKey(cursor, binding);
    if (rest.length > 0 || !validMs(lastAt) || typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_TEXT) badCursor(NOT_OURS);
    search.after = { last_at: lastAt, session_id: sessionId };
  }
  const rows = await db.listSessions({ ...search, limit: search.limit + 1 });
  const items = rows.slice(0, search.limit);
  const last = items.at(-1);
  return { items: items.map(sessionSummary), next_cursor: rows.length > search.limit && last !== undefined ? encodeKey(binding, [last.last_at, last.session_id]) : null };
}

const ALL = new Set<string>([...TRACE_FILTERS, ...PAGING]);
const NEWEST_FIRST = { sort: 'time', order: 'desc' } as const;

export function createSearchRoutes(): Hono<ConsoleEnv> {
  const routes = new Hono<ConsoleEnv>();

  routes.get('/traces', async (c) => c.json(await page(c, { allowed: ALL, metadata: true, fixed: {}, scope: 'traces', defaults: NEWEST_FIRST })));

  routes.get('/sessions', async (c) => c.json(await sessionPage(c)));

  routes.get('/sessions/:id', async (c) => {
    const sessionId = pathId(c, 'id', 'session id');
    const result = await page(c, { allowed: new Set(PAGING), metadata: false, fixed: { session_id: sessionId, sort: 'time', order: 'asc' }, scope: `session:${sessionId}`, defaults: { sort: 'time', order: 'asc' } });
    return c.json({ session_id: sessionId, ...result });
  });

  routes.get('/users/:id/traces', async (c) => {
    const userId = pathId(c, 'id', 'user id');
    const allowed = new Set([...ALL].filter((name) => name !== 'user_id'));
    return c.json(await page(c, { allowed, metadata: true, fixed: { user_id: userId }, scope: `user:${userId}`, defaults: NEWEST_FIRST }));
  });

  return routes;
}
