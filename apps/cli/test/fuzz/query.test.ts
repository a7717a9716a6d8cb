/**
 * Property-based fuzzing of query strings, for every documented GET operation that takes query
 * parameters (trace search, sessions, a user's traces, the analytics API, the audit log), on the same
 * real embedded surface as http.test.ts. Parameters come from the served OpenAPI document: each is
 * left out, given a valid value from its schema, a hostile value, or given twice; unknown and
 * `metadata.<key>` parameters are mixed in.
 *
 * For every answer: the rules of checks.ts (never a 5xx, the error envelope, no internals), only 200
 * or a 400 whose issues name `$.query…` parameters (with a key that has the scope), and a trace
 * summary of the other organization never appears (each org's seeded input text starts with its id).
 * A cursor handed to one organization is refused for the other.
 */
import { makeTrace } from '@metronis/schemas';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileString } from './arbitraries.js';
import { answerOf, checkAnswer } from './checks.js';
import { keyOf, ORGS, startSurface, type OrgId, type Surface } from './surface.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true });

type Json = Record<string, unknown>;
interface Parameter {
  name: string;
  schema: Json;
}
interface GetOperation {
  template: string;
  parameters: Parameter[];
  /** the scope a key needs besides read (the audit log is admin) */
  role: 'all';
}

let surface: Surface;
let operations: GetOperation[];

const printable = (s: string) => s.replace(/[\uD800-\uDFFF]/g, '\uFFFD');

/** A valid value for a parameter schema, as the text of a query string. */
function validValue(schema: Json): fc.Arbitrary<string> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]).map(String));
  if (schema.type === 'integer') return fc.integer({ min: Number(schema.minimum ?? 0), max: Number(schema.maximum ?? 1000) }).map(String);
  if (schema.format === 'date-time') return fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2027-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.type === 'array') return validValue((schema.items as Json | undefined) ?? { type: 'string' });
  return fc.oneof(fc.constantFrom('checkout-bot', 'production', 'openai', 'gpt-4o', 'user-1', 'session-1', 'pii', 'pii.email', 'refund'), fc.stringMatching(/^[a-z0-9._-]{1,20}$/));
}

const hostileValue: fc.Arbitrary<string> = fc.oneof(
  hostileString.filter((s) => s.length < 3000).map(printable),
  fc.constantFrom('-1', '0', '1e9', '1.5', 'NaN', 'true', '', ' ', '2026-13-45T99:99:99Z', '2026-11-20', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z', 'eyJ2IjoxfQ', 'e30', '%', 'a'.repeat(3000)),
);

/** One parameter's part of a query string: absent, valid, hostile, or twice. */
function parameterPart(p: Parameter): fc.Arbitrary<[string, string][]> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant<[string, string][]>([]) },
    { weight: 3, arbitrary: validValue(p.schema).map((v) => [[p.name, v]] as [string, string][]) },
    { weight: 2, arbitrary: hostileValue.map((v) => [[p.name, v]] as [string, string][]) },
    { weight: 1, arbitrary: fc.tuple(validValue(p.schema), fc.oneof(validValue(p.schema), hostileValue)).map(([a, b]) => [[p.name, a], [p.name, b]] as [string, string][]) },
  );
}

function queryOf(op: GetOperation): fc.Arbitrary<string> {
  const extras = fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom('org_id', 'unknown', '__proto__', 'constructor', 'limit[]', 'tag[]', 'cursor'), hostileValue),
      fc.tuple(hostileString.filter((s) => s.length < 200).map((k) => `metadata.${printable(k)}`), fc.oneof(validValue({}), hostileValue)),
    ),
    { maxLength: 2 },
  );
  return fc.tuple(fc.tuple(...op.parameters.map(parameterPart)), extras).map(([parts, extra]) => {
    const pairs = [...parts.flat(), ...extra];
    return pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
  });
}

const pathValue = fc.oneof(fc.constantFrom('user-1', 'session-1', 'x'), hostileString.filter((s) => s.length > 0 && s.length < 500).map((s) => encodeURIComponent(printable(s))));

async function call(path: string, org: OrgId) {
  const request = new Request(`http://fuzz${path}`, { headers: { authorization: `Bearer ${keyOf(org, 'all')}` } });
  return answerOf(await surface.fetch(request));
}

/** Throws when the answer breaks a rule. */
function checkQueryAnswer(path: string, org: OrgId, answer: Awaited<ReturnType<typeof call>>): void {
  checkAnswer({ method: 'GET', target: path, requestId: undefined }, answer);
  const where = `GET ${path.slice(0, 300)} → ${answer.status} ${answer.text.slice(0, 300)}`;
  if (answer.status === 400) {
    const issues = (answer.json as { error: { issues?: { path: string }[]; code: string } }).error;
    if (issues.code === 'invalid_query' && !(issues.issues ?? []).every((i) => i.path.startsWith('$.query'))) throw new Error(`a 400 whose issues do not name query parameters\n  ${where}`);
    return;
  }
  if (answer.status !== 200) throw new Error(`expected 200 or 400\n  ${where}`);
  const other = ORGS.find((o) => o !== org)!;
  for (const item of ((answer.json as { items?: { preview?: { input?: string } }[] }).items ?? [])) {
    if (item.preview?.input?.startsWith(other)) throw new Error(`an item of ${other} answered to ${org}\n  ${where}`);
  }
}

beforeAll(async () => {
  surface = await startSurface();
  for (const org of ORGS) {
    await surface.store.upsertTraces(
      Array.from({ length: 30 }, (_, i) =>
        makeTrace({
          org_id: org,
          trace_id: `q-${i}`,
          timestamp: Date.parse('2026-11-20T00:00:00Z') + i * 3_600_000,
          application: i % 2 === 0 ? 'checkout-bot' : 'faq-bot',
          environment: 'production',
          user_id: `user-${i % 3}`,
          session_id: `session-${i % 4}`,
          tags: ['a'],
          metadata: { team: 'x' },
          input: { text: `${org} asks about refund ${i}`, messages: [] },
        }),
      ),
    );
  }
  const doc = (await answerOf(await surface.fetch(new Request('http://fuzz/openapi.json')))).json as { paths: Record<string, Record<string, Json>> };
  operations = Object.entries(doc.paths).flatMap(([template, item]) => {
    const get = item.get;
    const query = ((get?.parameters as Json[] | undefined) ?? []).filter((p) => p.in === 'query') as unknown as Parameter[];
    return get === undefined || query.length === 0 ? [] : [{ template, parameters: query, role: 'all' as const }];
  });
}, 120_000);

afterAll(async () => {
  await surface?.close();
});

describe('query-string fuzz of every documented GET with query parameters', () => {
  it('finds the search and analytics operations in the document', () => {
    const templates = operations.map((o) => o.template);
    for (const t of ['/v1/traces', '/v1/sessions/{id}', '/v1/users/{id}/traces', '/v1/analytics/traces', '/v1/analytics/modules', '/v1/analytics/finding-kinds', '/v1/analytics/models']) expect(templates).toContain(t);
  });

  it('answers 200 or a 400 naming query parameters, within the rules, never with the other organization', async () => {
    for (const op of operations) {
      await surface.resetRateLimits();
      const ids = [...op.template.matchAll(/\{[^}]+\}/g)].length;
      await fc.assert(
        fc.asyncProperty(queryOf(op), fc.array(pathValue, { minLength: ids, maxLength: ids }), fc.constantFrom(...ORGS), async (query, values, org) => {
          let path = op.template;
          for (const value of values) path = path.replace(/\{[^}]+\}/, value);
          const answer = await call(path + query, org);
          checkQueryAnswer(path + query, org, answer);
        }),
        params(RUNS * 3),
      );
    }
  }, 600_000);

  it("refuses one organization's cursor to the other, whatever filters come with it", async () => {
    await surface.resetRateLimits();
    const first = await call('/v1/traces?limit=3', 'org_fuzz_a');
    const cursor = (first.json as { next_cursor: string }).next_cursor;
    expect(typeof cursor).toBe('string');
    await fc.assert(
      fc.asyncProperty(queryOf(operations.find((o) => o.template === '/v1/traces')!), async (query) => {
        const path = `/v1/traces${query === '' ? '?' : `${query}&`}cursor=${cursor}`;
        const answer = await call(path, 'org_fuzz_b');
        checkQueryAnswer(path, 'org_fuzz_b', answer);
        expect(answer.status, answer.text).toBe(400);
      }),
      params(RUNS * 2),
    );
  }, 300_000);
});
