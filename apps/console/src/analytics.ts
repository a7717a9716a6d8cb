/**
 * The analytics API over the facts (ClickHouse, or chDB embedded), scope read or admin. Every read
 * goes through the tenant's scoped facts (`{org_id:String}` always bound to the key's organization).
 *
 * - `GET /v1/analytics/traces?from&to&bucket=minute|hour|day|none&group_by=application|environment|model
 *   &application&environment&model_provider&model_name`: volume, evaluated, failed, failure rate and
 *   the severity mix per bucket (and group). Trace facts `FINAL` joined with each trace's outcome
 *   (its last tier's evaluation fact, `FINAL`), so a redelivered row never counts twice.
 * - `GET /v1/analytics/modules?…&module`: per module, evaluations, failures, the module's severity mix
 *   and latency. From the per-minute rollup when the query has no trace filter (the rollup keeps
 *   counts as uniqExact states, exact under redelivery); from module facts `FINAL` otherwise.
 *   `source` in the answer says which.
 * - `GET /v1/analytics/finding-kinds?…&module&limit&bucket`: the most frequent finding kinds (traces
 *   and module results carrying each), over the range (bucket=none, the default) or the top `limit`
 *   per bucket, from module facts `FINAL`.
 * - `GET /v1/analytics/models?…`: per model, traces, latency p50/p95/p99, tokens and cost
 *   (p50/p95 and totals), from trace facts `FINAL`. Quantiles are ClickHouse's `quantiles`
 *   (approximate on large inputs).
 * - `POST /v1/analytics/sql` `{ sql }`: the organization's own read-only SQL (analytics SQL; the
 *   engine confines it, see stores/src/clickhouse/analytics-sql.ts) → `{ columns, rows, statistics }`.
 *
 * Time range: `[from, to)`, ISO 8601; default the last 24 hours; at most 10,000 buckets.
 */
import { MIN_TIMESTAMP_MS } from '@metronis/schemas';
import { AnalyticsSqlError, type AnalyticsSqlResult } from '@metronis/stores';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ApiError, jsonBodyLimit, readJson, requireScope, type ConsoleEnv } from './http.js';
import { QueryReader } from './query.js';
import type { TenantFacts } from './tenant.js';

const MAX_TEXT = 1000;
const MAX_BUCKETS = 10_000;
const DAY = 86_400_000;
export const BUCKETS = ['minute', 'hour', 'day', 'none'] as const;
type Bucket = (typeof BUCKETS)[number];
const BUCKET_MS: Record<Exclude<Bucket, 'none'>, number> = { minute: 60_000, hour: 3_600_000, day: DAY };
const BUCKET_SQL: Record<Bucket, (column: string) => string> = {
  minute: (c) => `toUnixTimestamp64Milli(toDateTime64(toStartOfMinute(${c}), 3, 'UTC'))`,
  hour: (c) => `toUnixTimestamp64Milli(toDateTime64(toStartOfHour(${c}), 3, 'UTC'))`,
  day: (c) => `toUnixTimestamp64Milli(toDateTime64(toStartOfDay(${c}), 3, 'UTC'))`,
  none: () => 'toInt64(0)',
};
export const GROUP_BY = ['application', 'environment', 'model'] as const;
type GroupBy = (typeof GROUP_BY)[number];
const SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;
const TRACE_FILTERS = ['application', 'environment', 'model_provider', 'model_name'] as const;

export const analyticsSqlBodySchema = z.strictObject({ sql: z.string().min(1).max(100_000).describe('One read-only statement (SELECT or WITH …), without FORMAT.') });

/** The common parameters: range, bucket, trace filters. */
interface Common {
  from: number;
  to: number;
  bucket: Bucket;
  filters: Partial<Record<(typeof TRACE_FILTERS)[number], string>>;
  params: Record<string, unknown>;
}

const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

function common(q: QueryReader, now: number, defaultBucket: Bucket): Common {
  const to = q.time('to') ?? now;
  // The default day before `to` stops at the first time a trace may carry.
  const from = q.time('from') ?? Math.max(to - DAY, MIN_TIMESTAMP_MS);
  q.range(from, to);
  const bucket = q.choice('bucket', BUCKETS) ?? defaultBucket;
  if (bucket !== 'none' && BUCKETS.includes(bucket) && !Number.isNaN(from) && !Number.isNaN(to) && (to - from) / BUCKET_MS[bucket] > MAX_BUCKETS) {
    q.problem('bucket', `the range holds more than ${MAX_BUCKETS} ${bucket}s: choose a larger bucket or a shorter range`);
  }
  const filters: Common['filters'] = {};
  for (const name of TRACE_FILTERS) {
    const value = q.text(name, MAX_TEXT);
    if (value !== undefined) filters[name] = value;
  }
  // A bad time was recorded as an issue; the caller's q.done() answers it before any query runs.
  const valid = !Number.isNaN(from) && !Number.isNaN(to);
  return { from, to, bucket, filters, params: valid ? { from: chTime(from), to: chTime(to), ...filters } : {} };
}

/** ` AND application = {application:String}…` for the trace filters given. */
function traceWhere(filters: Common['filters'], prefix = ''): string {
  return Object.keys(filters)
    .map((name) => ` AND ${prefix}${name} = {${name}:String}`)
    .join('');
}

const RANGE = (column: string) => `${column} >= {from:DateTime64(3, 'UTC')} AND ${column} < {to:DateTime64(3, 'UTC')}`;

function facts(c: Context<ConsoleEnv>): TenantFacts {
  requireScope(c, 'read', 'admin');
  const f = c.get('tenant').facts;
  if (f === null) throw new ApiError(501, 'not_implemented', 'The analytics API needs a facts store; this console runs without one.');
  return f;
}

const time = (ms: unknown, bucket: Bucket) => (bucket === 'none' ? null : new Date(Number(ms)).toISOString());
const n = (v: unknown) => Number(v ?? 0);
const rate = (failed: number, of: number) => (of === 0 ? null : failed / of);
const orNull = (v: unknown) => (v === '' || v === null || v === undefined ? null : String(v));
const severityMix = (row: Record<string, unknown>) => Object.fromEntries(SEVERITIES.map((s) => [s, n(row[`sev_${s}`])]));
const severityColumns = (expr: (s: string) => string) => SEVERITIES.map((s) => `${expr(s)} AS sev_${s}`).join(', ');

async function tracesSeries(f: TenantFacts, q: QueryReader, now: number) {
  const base = common(q, now, 'hour');
  const groupBy = q.choice('group_by', GROUP_BY);
  q.done();
  const groupColumns: Record<GroupBy, string[]> = { application: ['application'], environment: ['environment'], model: ['model_provider', 'model_name'] };
  const groups = groupBy === undefined ? [] : groupColumns[groupBy];
  const select = groups.map((g) => `t.${g} AS ${g}`).join(', ');
  const rows = await f.query<Record<string, unknown>>(
    `SELECT ${BUCKET_SQL[base.bucket]('t.timestamp')} AS t_ms${select === '' ? '' : `, ${select}`},
            count() AS traces, countIf(e.evaluated = 1) AS evaluated, countIf(e.evaluated = 1 AND NOT e.passed) AS failed,
            ${severityColumns((s) => `countIf(e.evaluated = 1 AND e.severity = '${s}')`)}
     FROM (SELECT trace_id, timestamp, application, environment, model_provider, model_name FROM trace_facts_v1 FINAL
           WHERE org_id = {org_id:String} AND ${RANGE('timestamp')}${traceWhere(base.filters)}) AS t
     LEFT JOIN (SELECT trace_id, argMax(passed, tier) AS passed, argMax(severity, tier) AS severity, toUInt8(1) AS evaluated
                FROM evaluation_facts_v1 FINAL WHERE org_id = {org_id:String} AND ${RANGE('trace_timestamp')} GROUP BY trace_id) AS e
     ON e.trace_id = t.trace_id
     GROUP BY t_ms${groups.map((g) => `, ${g}`).join('')} ORDER BY t_ms${groups.map((g) => `, ${g}`).join('')}`,
    base.params,
  );
  const groupOf = (row: Record<string, unknown>) =>
    groupBy === undefined ? null : groupBy === 'model' ? { model: { provider: orNull(row.model_provider), name: orNull(row.model_name) } } : { [groupBy]: orNull(row[groupBy]) };
  return {
    from: new Date(base.from).toISOString(),
    to: new Date(base.to).toISOString(),
    bucket: base.bucket,
    group_by: groupBy ?? null,
    items: rows.map((row) => ({
      time: time(row.t_ms, base.bucket),
      group: groupOf(row),
      traces: n(row.traces),
      evaluated: n(row.evaluated),
      failed: n(row.failed),
      failure_rate: rate(n(row.failed), n(row.evaluated)),
      severity: severityMix(row),
    })),
  };
}

async function modulesSeries(f: TenantFacts, q: QueryReader, now: number) {
  const base = common(q, now, 'hour');
  const module = q.text('module', MAX_TEXT);
  q.done();
  const params = { ...base.params, ...(module === undefined ? {} : { module }) };
  const moduleWhere = module === undefined ? '' : ' AND module = {module:String}';
  const fromRollup = Object.keys(base.filters).length === 0;
  const sql = fromRollup
    ? `SELECT t_ms, module, sum(ev) AS evaluations, sum(fl) AS failed, ${severityColumns((s) => `sumIf(ev, severity = '${s}')`)},
              avgMerge(lat_avg) AS latency_avg, quantilesMerge(0.5, 0.9, 0.99)(lat_q) AS latency_q
       FROM (SELECT ${BUCKET_SQL[base.bucket]('minute')} AS t_ms, module, severity, uniqExactMerge(evaluations) AS ev, uniqExactMerge(failed) AS fl,
                    avgMergeState(latency_avg_us) AS lat_avg, quantilesMergeState(0.5, 0.9, 0.99)(latency_quantiles_us) AS lat_q
             FROM module_rollup_minute_v1
             WHERE org_id = {org_id:String} AND minute >= toStartOfMinute(toDateTime({from:DateTime64(3, 'UTC')}, 'UTC')) AND minute < {to:DateTime64(3, 'UTC')}${moduleWhere}
             GROUP BY t_ms, module, severity)
       GROUP BY t_ms, module ORDER BY t_ms, module`
    : `SELECT ${BUCKET_SQL[base.bucket]('trace_timestamp')} AS t_ms, module, count() AS evaluations, countIf(NOT passed) AS failed,
              ${severityColumns((s) => `countIf(severity = '${s}')`)}, avg(latency_us) AS latency_avg, quantiles(0.5, 0.9, 0.99)(latency_us) AS latency_q
       FROM module_result_facts_v1 FINAL
       WHERE org_id = {org_id:String} AND ${RANGE('trace_timestamp')}${moduleWhere}
         AND trace_id IN (SELECT trace_id FROM trace_facts_v1 FINAL WHERE org_id = {org_id:String} AND ${RANGE('timestamp')}${traceWhere(base.filters)})
       GROUP BY t_ms, module ORDER BY t_ms, module`;
  const rows = await f.query<Record<string, unknown>>(sql, params);
  return {
    from: new Date(base.from).toISOString(),
    to: new Date(base.to).toISOString(),
    bucket: base.bucket,
    source: fromRollup ? 'rollup' : 'facts',
    items: rows.map((row) => {
      const q3 = (Array.isArray(row.latency_q) ? row.latency_q : []).map(Number);
      return {
        time: time(row.t_ms, base.bucket),
        module: String(row.module),
        evaluations: n(row.evaluations),
        failed: n(row.failed),
        failure_rate: rate(n(row.failed), n(row.evaluations)),
        severity: severityMix(row),
        latency_us: { avg: Number.isFinite(Number(row.latency_avg)) ? Number(row.latency_avg) : null, p50: q3[0] ?? null, p90: q3[1] ?? null, p99: q3[2] ?? null },
      };
    }),
  };
}

async function findingKinds(f: TenantFacts, q: QueryReader, now: number) {
  const base = common(q, now, 'none');
  const module = q.text('module', MAX_TEXT);
  const limit = q.integer('limit', 1, 1000) ?? 20;
  q.done();
  const traceFilter = Object.keys(base.filters).length === 0 ? '' : ` AND trace_id IN (SELECT trace_id FROM trace_facts_v1 FINAL WHERE org_id = {org_id:String} AND ${RANGE('timestamp')}${traceWhere(base.filters)})`;
  const rows = await f.query<Record<string, unknown>>(
    `SELECT ${BUCKET_SQL[base.bucket]('trace_timestamp')} AS t_ms, kind, uniqExact(trace_id) AS traces, count() AS results, arraySort(groupUniqArray(module)) AS modules
     FROM module_result_facts_v1 FINAL ARRAY JOIN finding_kinds AS kind
     WHERE org_id = {org_id:String} AND ${RANGE('trace_timestamp')}${module === undefined ? '' : ' AND module = {module:String}'}${traceFilter}
     GROUP BY t_ms, kind ORDER BY t_ms, traces DESC, kind LIMIT {limit:UInt32} BY t_ms`,
    { ...base.params, limit, ...(module === undefined ? {} : { module }) },
  );
  return {
    from: new Date(base.from).toISOString(),
    to: new Date(base.to).toISOString(),
    bucket: base.bucket,
    items: rows.map((row) => ({ time: time(row.t_ms, base.bucket), finding_kind: String(row.kind), traces: n(row.traces), results: n(row.results), modules: (row.modules as string[]) ?? [] })),
  };
}

async function models(f: TenantFacts, q: QueryReader, now: number) {
  const base = common(q, now, 'none');
  q.done();
  const rows = await f.query<Record<string, unknown>>(
    `SELECT model_provider, model_name, count() AS traces, quantiles(0.5, 0.95, 0.99)(latency_ms) AS latency,
            quantiles(0.5, 0.95)(input_tokens) AS input_q, sum(input_tokens) AS input_total,
            quantiles(0.5, 0.95)(output_tokens) AS output_q, sum(output_tokens) AS output_total,
            quantiles(0.5, 0.95)(cost_usd) AS cost_q, sum(cost_usd) AS cost_total
     FROM trace_facts_v1 FINAL
     WHERE org_id = {org_id:String} AND ${RANGE('timestamp')}${traceWhere(base.filters)}
     GROUP BY model_provider, model_name ORDER BY traces DESC, model_provider, model_name`,
    base.params,
  );
  const pair = (v: unknown) => (Array.isArray(v) ? v.map(Number) : []);
  return {
    from: new Date(base.from).toISOString(),
    to: new Date(base.to).toISOString(),
    items: rows.map((row) => {
      const [l50, l95, l99] = pair(row.latency);
      const [i50, i95] = pair(row.input_q);
      const [o50, o95] = pair(row.output_q);
      const [c50, c95] = pair(row.cost_q);
      return {
        model: { provider: orNull(row.model_provider), name: orNull(row.model_name) },
        traces: n(row.traces),
        latency_ms: { p50: l50 ?? null, p95: l95 ?? null, p99: l99 ?? null },
        input_tokens: { p50: i50 ?? null, p95: i95 ?? null, total: n(row.input_total) },
        output_tokens: { p50: o50 ?? null, p95: o95 ?? null, total: n(row.output_total) },
        cost_usd: { p50: c50 ?? null, p95: c95 ?? null, total: n(row.cost_total) },
      };
    }),
  };
}

const ANALYTICS_SQL_STATUS = { invalid: [400, 'invalid_sql'], forbidden: [403, 'sql_not_allowed'], limit: [422, 'query_limit_exceeded'], unavailable: [501, 'not_implemented'] } as const;

export interface AnalyticsRoutesOptions {
  /** the clock (tests pin it); default Date.now */
  now?: () => number;
}

export function createAnalyticsRoutes(options: AnalyticsRoutesOptions = {}): Hono<ConsoleEnv> {
  const routes = new Hono<ConsoleEnv>();
  const now = options.now ?? Date.now;
  const RANGE_PARAMS = ['from', 'to', 'bucket', ...TRACE_FILTERS];

  routes.get('/traces', async (c) => c.json(await tracesSeries(facts(c), new QueryReader(c.req.url, [...RANGE_PARAMS, 'group_by']), now())));
  routes.get('/modules', async (c) => c.json(await modulesSeries(facts(c), new QueryReader(c.req.url, [...RANGE_PARAMS, 'module']), now())));
  routes.get('/finding-kinds', async (c) => c.json(await findingKinds(facts(c), new QueryReader(c.req.url, [...RANGE_PARAMS, 'module', 'limit']), now())));
  routes.get('/models', async (c) => c.json(await models(facts(c), new QueryReader(c.req.url, ['from', 'to', ...TRACE_FILTERS]), now())));

  routes.post('/sql', jsonBodyLimit(128 * 1024), async (c) => {
    const f = facts(c);
    const { sql } = await readJson(c, analyticsSqlBodySchema);
    let result: AnalyticsSqlResult;
    try {
      result = await f.analyticsSql(sql);
    } catch (error) {
      if (!(error instanceof AnalyticsSqlError)) throw error;
      const [status, code] = ANALYTICS_SQL_STATUS[error.problem];
      throw new ApiError(status, code, error.message.slice(error.operation.length + 2), { cause: error });
    }
    return c.json(result);
  });

  return routes;
}
