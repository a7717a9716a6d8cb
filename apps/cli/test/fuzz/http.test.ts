/**
 * Property-based fuzzing of the whole embedded HTTP surface (gateway + console, as `metronis dev`
 * serves it), on real parts (surface.ts). The operations come from the OpenAPI document the server
 * serves, so a route someone documents later is fuzzed without touching this file; a route the
 * server answers that the document lacks fails the suite.
 *
 * For every answer: never a 5xx, the error envelope with the request id of the X-Request-Id header,
 * no leak of internals (checks.ts). After every request: the traces topic holds exactly the traces
 * answered as accepted (no partial write), and a refused write left the stored state as it was.
 *
 * Runs: FUZZ_RUNS (default 12) per operation and property family; fast-check prints the seed and
 * the shrunk counterexample of a failure (re-run with FUZZ_SEED=<seed>).
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentLength, contentType, credentials, hostileBody, hostileString, hostileValue, pathId, query, requestId, type Body } from './arbitraries.js';
import { answerOf, checkAnswer, SANE_REQUEST_ID, type Answer } from './checks.js';
import { keyOf, OPERATOR_KEY, OPERATOR_ORG, ORGS, startSurface, type KeyRole, type Surface } from './surface.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true });
const ROLES: KeyRole[] = ['ingest', 'read', 'admin', 'all'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const INGEST = new Set(['POST /v1/traces', 'POST /v1/traces/batch']);

interface Operation {
  method: string;
  /** `/v1/traces/{id}` */
  template: string;
  operationId: string | undefined;
  hasBody: boolean;
  example: unknown;
  /** The document says it may answer 501 (not implemented). */
  notImplemented: boolean;
}

type Json = Record<string, unknown>;

const traceExample = {
  trace_id: 'fuzz-valid-1',
  input: { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
  output: { content: 'Paris.', finish_reason: 'stop' },
  model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.2 } },
  usage: { input_tokens: 12, output_tokens: 3, cost_usd: 0.00001 },
  context: ['France is a country.', { id: 'd1', content: 'Paris is its capital.', score: 0.9 }],
  latency_ms: 420,
  tags: ['smoke'],
  metadata: { team: 'search' },
  timestamp: '2026-12-01T10:00:00Z',
};

/** Hand-written valid bodies where a minimal one from the schema would reach little code. */
const EXAMPLES: Record<string, unknown> = {
  ingestTrace: traceExample,
  ingestTraceBatch: { traces: [traceExample, { ...traceExample, trace_id: 'fuzz-valid-2', input: 'q', output: 'a' }] },
  putPolicy: { fail_at: 'high', mask_pii_before_storage: false, modules: { quality: { enabled: true } }, severity_overrides: [{ kind: 'secret', severity: 'high' }] },
  analyticsSql: { sql: 'SELECT org_id, count() AS n FROM trace_facts_v1 GROUP BY org_id' },
};

/** A small valid instance of a JSON schema (required properties only), for operations without an example. */
function exampleOf(schema: unknown, doc: Json, depth = 0): unknown {
  if (depth > 8 || schema === null || typeof schema !== 'object') return {};
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.split('/').pop()!;
    return exampleOf(((doc.components as Json | undefined)?.schemas as Json | undefined)?.[name], doc, depth + 1);
  }
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) if (Array.isArray(s[key])) return exampleOf((s[key] as unknown[])[0], doc, depth + 1);
  if ('default' in s) return s.default;
  switch (s.type) {
    case 'object': {
      const out: Json = {};
      for (const name of (s.required as string[] | undefined) ?? []) out[name] = exampleOf((s.properties as Json | undefined)?.[name], doc, depth + 1);
      return out;
    }
    case 'array':
      return Number(s.minItems ?? 0) > 0 ? [exampleOf(s.items, doc, depth + 1)] : [];
    case 'string':
      return 'fuzz';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    default:
      return {};
  }
}

function operationsOf(doc: Json): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (op === undefined) continue;
      const operationId = op.operationId as string | undefined;
      const schema = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
      const example = operationId !== undefined && operationId in EXAMPLES ? EXAMPLES[operationId] : exampleOf(schema?.schema, doc);
      const notImplemented = '501' in ((op.responses as Json | undefined) ?? {});
      ops.push({ method: method.toUpperCase(), template, operationId, hasBody: op.requestBody !== undefined, example, notImplemented });
    }
  }
  return ops;
}

let surface: Surface;
let doc: Json;
let ops: Operation[];
/** Traces answered as accepted so far: what the traces topic must hold. */
let accepted = 0;
/** A key of a fuzz organization with one of `roles`, or sometimes the operator's admin key. */
function validKey(roles: KeyRole[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 5, arbitrary: fc.tuple(fc.constantFrom(...ORGS), fc.constantFrom(...roles)).map(([org, role]) => keyOf(org, role)) }, { weight: 1, arbitrary: fc.constant(OPERATOR_KEY) });
}

/** Default rate limits again, and the stored state as the new baseline. */
async function freshLimits(): Promise<void> {
  await surface.resetRateLimits();
  baseline = await snapshot();
}

/** The stored state before the next write (see snapshot). */
let baseline: string;

async function call(request: Request): Promise<Answer> {
  return answerOf(await surface.fetch(request));
}

/**
 * What the store holds for each organization, read from the store itself (HTTP reads could be rate
 * limited by what the fuzzer saved): the organization with its settings, policy, keys and recorded
 * deletions (no sink runs, so nothing else is stored). The audit log is left out: recording a refused attempt there would be legitimate.
 */
async function snapshot(): Promise<string> {
  const orgs = [];
  for (const org of [...ORGS, OPERATOR_ORG]) {
    const scope = surface.store.forOrg(org);
    orgs.push([org, await scope.getOrganization(), await scope.getPolicy(), await scope.listApiKeys(), await scope.listDeletions(1000)]);
  }
  return JSON.stringify(orgs);
}

interface Input {
  op: Operation;
  path: string;
  headers: Record<string, string>;
  body: Body;
}

function inputFor(op: Operation): fc.Arbitrary<Input> {
  const names = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  return fc
    .record({
      ids: fc.array(pathId, { minLength: names.length, maxLength: names.length }),
      q: query,
      auth: credentials,
      type: contentType,
      length: contentLength,
      rid: requestId,
      body: hostileBody(op.example),
    })
    .map(({ ids, q, auth, type, length, rid, body }) => {
      let path = op.template;
      names.forEach((name, i) => (path = path.replace(`{${name}}`, ids[i]!)));
      const headers: Record<string, string> = { ...auth };
      if (rid !== undefined) headers['x-request-id'] = rid;
      const sendsBody = op.hasBody || op.method !== 'GET';
      if (sendsBody && type !== undefined) headers['content-type'] = type;
      if (sendsBody && length !== undefined) headers['content-length'] = length;
      return { op, path: path + q, headers, body: op.method === 'GET' ? ({ kind: 'none' } as Body) : body };
    });
}

function requestOf(input: Input): Request | null {
  const body = input.body.kind === 'text' ? input.body.text : input.body.kind === 'bytes' ? input.body.bytes : undefined;
  try {
    return new Request(`http://fuzz${input.path}`, { method: input.op.method, headers: input.headers, body });
  } catch {
    return null; // a request fetch itself refuses to build (the socket tests send such bytes raw)
  }
}

/** Sends one request and checks the answer, the log and the store. */
/** Answers by status, and requests fetch refused to build, per operation: printed at the end so a run shows what it reached. */
const stats = new Map<string, Map<string, number>>();
function count(op: Pick<Operation, 'method' | 'template'>, outcome: string): void {
  const name = `${op.method} ${op.template}`;
  const byOutcome = stats.get(name) ?? new Map<string, number>();
  byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  stats.set(name, byOutcome);
}

async function exercise(input: Input): Promise<void> {
  const request = requestOf(input);
  if (request === null) {
    count(input.op, 'unbuildable');
    return;
  }
  const answer = await call(request);
  count(input.op, String(answer.status));
  const sent = { method: input.op.method, target: input.path, requestId: input.headers['x-request-id'] };
  checkAnswer(sent, answer, { allow501: input.op.notImplemented });
  await settle(input.op, sent, answer);
}

/** Request ids seen in the log so far, and how many log lines were read for them. */
const loggedIds = new Set<string>();
let linesRead = 0;

function logged(requestId: string): boolean {
  for (; linesRead < surface.logLines.length; linesRead++) {
    const id = (JSON.parse(surface.logLines[linesRead]!) as { request_id?: unknown }).request_id;
    if (typeof id === 'string') loggedIds.add(id);
  }
  return loggedIds.has(requestId);
}

async function settle(op: Pick<Operation, 'method' | 'template'>, sent: { method: string; target: string }, answer: Answer): Promise<void> {
  const where = `${sent.method} ${sent.target.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`;
  const requestId = answer.headers.get('x-request-id');
  if (answer.status >= 400 && requestId !== null && !logged(requestId)) throw new Error(`the error answer's request id ${requestId} is in no log line\n  ${where}`);
  // Only ingest answers 202 to a write (a DELETE answers 202 when nothing was stored yet: the
  // deletion is accepted for a trace still on its way); count by the answer, whatever path spelling reached it.
  if (answer.status === 202 && op.method !== 'DELETE') {
    const body = answer.json as { trace_id?: unknown; accepted?: unknown[] };
    if (!INGEST.has(`${op.method} ${op.template}`) && !/\/v1\/traces(\/batch)?$/.test(op.template)) throw new Error(`202 from a route that does not ingest\n  ${where}`);
    accepted += Array.isArray(body.accepted) ? body.accepted.length : typeof body.trace_id === 'string' ? 1 : 0;
  }
  const onLog = await surface.countOnLog();
  if (onLog !== accepted) throw new Error(`the traces topic holds ${onLog} records, ${accepted} were answered accepted\n  ${where}`);
  if (op.method !== 'GET') {
    const now = await snapshot();
    if (answer.status >= 400 && now !== baseline) throw new Error(`a refused write changed the stored state\n  ${where}\n  before: ${baseline.slice(0, 400)}\n  after:  ${now.slice(0, 400)}`);
    baseline = now;
  }
  if ((Object.prototype as Record<string, unknown>).polluted !== undefined || ({} as Record<string, unknown>).polluted !== undefined) {
    throw new Error(`Object.prototype was polluted\n  ${where}`);
  }
}

beforeAll(async () => {
  surface = await startSurface();
  const answer = await call(new Request('http://fuzz/openapi.json'));
  expect(answer.status).toBe(200);
  doc = answer.json as Json;
  ops = operationsOf(doc);
  baseline = await snapshot();
}, 120_000);

afterAll(async () => {
  const lines = [...stats].map(([op, outcomes]) => `  ${op}: ${[...outcomes].sort().map(([o, n]) => `${o}×${n}`).join(' ')}`);
  process.stdout.write(`fuzz answers by operation (FUZZ_RUNS=${RUNS}):\n${lines.join('\n')}\n`);
  await surface?.close();
});

describe('HTTP fuzz of the embedded surface', () => {
  it('documents every route the embedded server serves, and serves every documented operation', () => {
    const documented = new Set(ops.map((op) => `${op.method} ${op.template}`));
    const served = new Set(surface.served.map((r) => `${r.method} ${r.path}`));
    const undocumented = [...served].filter((r) => !documented.has(r));
    const unserved = [...documented].filter((r) => !served.has(r));
    expect(
      undocumented,
      'served but missing from GET /openapi.json: document them (apps/console/src/openapi.ts or apps/ingest-gateway/src/openapi.ts) so they are fuzzed',
    ).toEqual([]);
    expect(unserved, 'in GET /openapi.json but no app serves them').toEqual([]);
    expect(ops.length).toBeGreaterThanOrEqual(8);
  });

  it('answers every documented operation within the rules, whatever the body, headers and ids', async () => {
    for (const op of ops) {
      await freshLimits();
      await fc.assert(
        fc.asyncProperty(inputFor(op), (input) => exercise(input)),
        params(op.hasBody ? RUNS * 2 : RUNS),
      );
    }
  }, 600_000);

  it('answers every documented operation with a valid key and a valid body within the rules (reaches the handlers)', async () => {
    for (const op of ops) {
      await freshLimits();
      const arb = fc.record({ key: validKey(['all', 'admin', 'ingest', 'read']), id: pathId, rid: requestId });
      await fc.assert(
        fc.asyncProperty(arb, async ({ key, id, rid }) => {
          const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
          if (rid !== undefined) headers['x-request-id'] = rid;
          await exercise({ op, path: op.template.replace(/\{[^}]+\}/g, id), headers, body: op.method === 'GET' ? { kind: 'none' } : { kind: 'text', text: JSON.stringify(op.example) } });
        }),
        params(RUNS),
      );
    }
  }, 600_000);

  it('answers hostile bodies sent with a valid key and Content-Type within the rules (reaches body handling)', async () => {
    for (const op of ops.filter((o) => o.hasBody)) {
      await freshLimits();
      const arb = fc.record({ key: validKey(['all', 'all', 'admin', 'ingest']), body: hostileBody(op.example), rid: requestId });
      await fc.assert(
        fc.asyncProperty(arb, async ({ key, body, rid }) => {
          const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
          if (rid !== undefined) headers['x-request-id'] = rid;
          await exercise({ op, path: op.template, headers, body });
        }),
        params(RUNS * 2),
      );
    }
  }, 600_000);

  it('answers undocumented methods and paths with the error envelope, never a 5xx', async () => {
    const arb = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      path: fc.oneof(
        fc.constantFrom('/', '//', '/v1', '/v1/', '/v1/traces/', '/v1/traces//x', '/v1/../v1/policy', '/v1/%2e%2e/policy', '/V1/TRACES', '/v1/traces/batch/x', '/openapi.json/x', '/.env', '/%00', '/%'),
        pathId.map((id) => `/v1/${id}`),
        pathId.map((id) => `/${id}`),
      ),
      auth: credentials,
      rid: requestId,
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ method, path, auth, rid }) => {
        const headers: Record<string, string> = { ...auth };
        if (rid !== undefined) headers['x-request-id'] = rid;
        const request = new Request(`http://fuzz${path}`, { method, headers });
        const answer = await call(request);
        const sent = { method, target: path, requestId: rid };
        const pathname = new URL(request.url).pathname;
        const allow501 = ops.some((op) => op.notImplemented && op.template === pathname && (op.method === method || (method === 'HEAD' && op.method === 'GET')));
        if (method === 'HEAD') {
          if (!(allow501 && answer.status === 501)) expect(answer.status, `${method} ${path}`).toBeLessThan(500);
          return;
        }
        checkAnswer(sent, answer, { allow501 });
        await settle({ method, template: new URL(request.url).pathname }, sent, answer);
      }),
      params(RUNS * 4),
    );
  }, 600_000);

  it('keeps the request id of an error in the log', async () => {
    const answer = await call(new Request('http://fuzz/v1/traces', { method: 'POST', headers: { 'x-request-id': 'fuzz-log-check-1', 'content-type': 'application/json' }, body: '{' }));
    expect(answer.status).toBe(401);
    const consoleAnswer = await call(new Request('http://fuzz/v1/policy', { headers: { 'x-request-id': 'fuzz-log-check-2' } }));
    expect(consoleAnswer.status).toBe(401);
    for (const id of ['fuzz-log-check-1', 'fuzz-log-check-2']) {
      expect(surface.logLines.some((line) => (JSON.parse(line) as { request_id?: string }).request_id === id), `a log line with request_id ${id}`).toBe(true);
    }
  });
});

/** Sends raw bytes on a new connection and reads until the server closes it. */
function raw(url: string, bytes: Buffer | string, timeoutMs = 10_000): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(bytes).slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined); // the server may reset after answering; what it sent is checked below
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split === -1 ? '' : text.slice(split + 4) });
    });
    socket.write(bytes);
  });
}

/** An answer of the app (not of Node's own parser, which answers a bare 400/431 and closes). */
function appAnswerOf(res: { status: number; head: string; body: string }): Answer {
  const headers = new Headers();
  for (const line of res.head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = res.body;
  if (headers.get('transfer-encoding') === 'chunked') {
    let out = '';
    for (let rest = body; rest.length > 0; ) {
      const eol = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, eol), 16);
      if (!(size > 0)) break;
      out += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    body = out;
  }
  const text = Buffer.from(body, 'latin1').toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers, text, json };
}

describe('HTTP fuzz over a real socket (Node parses the request)', () => {
  const key = () => keyOf('org_fuzz_a', 'all');

  async function rawChecked(bytes: Buffer | string, rid?: string): Promise<void> {
    const res = await raw(surface.url, bytes);
    expect(res.status, `no status line in the answer to ${JSON.stringify(String(bytes).slice(0, 200))}: ${res.head}`).toBeGreaterThan(0);
    if (/x-request-id:/i.test(res.head)) {
      const answer = appAnswerOf(res);
      const target = /^\S+ (\S+)/.exec(String(bytes))?.[1] ?? '?';
      checkAnswer({ method: String(bytes).split(' ')[0]!, target, requestId: rid }, answer);
      await settle({ method: String(bytes).split(' ')[0]!, template: target.split('?')[0]! }, { method: 'raw', target }, answer);
    } else {
      // Node's own parser refused the request: a bare 4xx, and the server goes on.
      expect(res.status, res.head).toBeGreaterThanOrEqual(400);
      expect(res.status, res.head).toBeLessThan(500);
      expect(res.body).not.toMatch(/ {4}at |node_modules|\/work\//);
    }
    const health = await fetch(`${surface.url}/healthz`);
    expect(health.status).toBe(200);
  }

  it('answers hostile request lines, headers and framing within the rules, and stays up', async () => {
    const body = '{"input":"q","output":"a"}';
    const post = (headers: string, payload: string | Buffer = body, path = '/v1/traces') =>
      Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`, 'latin1'), Buffer.from(payload)]);
    const auth = `Authorization: Bearer ${key()}\r\n`;
    const json = 'Content-Type: application/json\r\n';
    const cases: (Buffer | string)[] = [
      post(`${auth}${json}Content-Length: ${body.length}\r\n`),
      post(`${auth}${json}Content-Length: ${body.length}\r\nX-Request-Id: a\r\n Set-Cookie: folded\r\n`),
      post(`${auth}${json}Content-Length: ${body.length}\r\nX-Request-Id: a\rSet-Cookie: x=1\r\n`),
      post(`${auth}${json}Content-Length: ${body.length}\r\nX-Request-Id: a\u0000b\r\n`),
      post(`${auth}${json}Content-Length: ${body.length}\r\nX-Request-Id: ${'x'.repeat(20_000)}\r\n`),
      post(`Authorization: Bearer ${'k'.repeat(20_000)}\r\n${json}Content-Length: ${body.length}\r\n`),
      post(`Authorization: Bearer \u00ff\u00fe${key()}\r\n${json}Content-Length: ${body.length}\r\n`),
      post(`Authorization: Bearer k\u0001ey\r\n${json}Content-Length: ${body.length}\r\n`),
      post(`${auth}${json}Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n`),
      post(`${auth}${json}Content-Length: -1\r\n`),
      post(`${auth}${json}Content-Length: abc\r\n`),
      post(`${auth}${json}Content-Length: 99999999999999999999\r\n`),
      post(`${auth}${json}Content-Length: ${body.length - 5}\r\n`),
      post(`${auth}${json}Transfer-Encoding: chunked\r\n`, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
      post(`${auth}${json}Transfer-Encoding: chunked\r\n`, `zz\r\n${body}\r\n0\r\n\r\n`),
      post(`${auth}${json}Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n`, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
      post(`${auth}${json}Transfer-Encoding: gzip\r\n`),
      post(`${auth}${json}Content-Length: 6\r\n`, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
      post(`${auth}${json}Content-Length: 28\r\n`, Buffer.from('{"input":"\xed\xa0\x80","output":"a"}', 'latin1')),
      post(`${auth}Content-Type: application/json; charset=\u00ff\r\nContent-Length: ${body.length}\r\n`),
      post(`${auth}${json}Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n`),
      post(`${auth}${json}Content-Length: ${body.length}\r\n`, body, '/v1/traces?x=%zz'),
      post(`${auth}${json}Content-Length: ${body.length}\r\n`, body, '//v1/traces'),
      post(`${auth}${json}Content-Length: ${body.length}\r\n`, body, '/v1/traces#frag'),
      post(`${auth}${json}Content-Length: ${body.length}\r\n`, body, 'http://evil.example/v1/traces'),
      post(`${auth}${json}Content-Length: ${body.length}\r\n`, body, '*'),
      post(`${auth}${json}Content-Length: ${body.length}\r\n`, body, '/v1/tr\u00e9ces'),
      `GET /v1/traces/%00 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/traces/\u00ff\u00fe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/traces/a b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: a b\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: \u00ff\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: 127.0.0.1:99999\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/policy HTTP/1.0\r\nAuthorization: Bearer ${key()}\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil\r\nConnection: close\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n`,
      `GET /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n`,
      `get /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      `BREW /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      `GET /v1/policy HTTP/9.9\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      `GET /v1/policy\r\n\r\n`,
      `\r\n\r\nGARBAGE\r\n\r\n`,
      `PUT /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n${json}Content-Length: 5\r\n\r\n{"fai`,
      `PUT /v1/policy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${key()}\r\n${json}Transfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n`,
    ];
    for (const bytes of cases) {
      const rids = [...String(bytes).matchAll(/X-Request-Id: ([^\r]*)/g)].map((m) => m[1]!);
      const rid = rids.length === 1 ? rids[0] : undefined; // two headers arrive joined ("one, two"): not echoed
      await rawChecked(bytes, rid);
    }
  }, 120_000);

  it('writes nothing for a body cut off by the client, and stays up', async () => {
    const before = await surface.countOnLog();
    for (const path of ['/v1/traces', '/v1/traces/batch']) {
      const body = path === '/v1/traces' ? '{"input":"q","output":"a"}' : '{"traces":[{"input":"q","output":"a"}]}';
      await new Promise<void>((resolve) => {
        const { hostname, port } = new URL(surface.url);
        const socket = connect({ host: hostname, port: Number(port) }, () => {
          socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key()}\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n${body}`);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await surface.countOnLog()).toBe(before);
    expect((await fetch(`${surface.url}/healthz`)).status).toBe(200);
  });

  it('answers fuzzed header values sent over a socket within the rules', async () => {
    const byteString = fc.string({ unit: fc.integer({ min: 0x20, max: 0xfe }).map((c) => String.fromCharCode(c === 0x7f ? 0xff : c)), maxLength: 300 }).filter((s) => s.trim() === s);
    const arb = fc.record({
      header: fc.constantFrom('authorization', 'x-api-key', 'x-request-id', 'content-type'),
      value: fc.oneof(byteString, fc.constantFrom(`Bearer ${key()}`, 'Bearer', '')),
      path: fc.constantFrom('/v1/traces', '/v1/policy', '/v1/traces/x'),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ header, value, path }) => {
        const method = path === '/v1/traces' ? 'POST' : 'GET';
        const headers: Record<string, string> = { authorization: `Bearer ${key()}`, 'content-type': 'application/json', [header]: value };
        const body = method === 'POST' ? '{"input":"q","output":"a"}' : undefined;
        const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
          const { hostname, port } = new URL(surface.url);
          const req = httpRequest({ host: hostname, port: Number(port), method, path, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (c: Buffer) => chunks.push(c));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
          });
          req.on('error', reject);
          req.end(body);
        });
        let json: unknown;
        try {
          json = JSON.parse(res.text);
        } catch {
          json = undefined;
        }
        const answerHeaders = new Headers();
        for (const [name, v] of Object.entries(res.headers)) if (typeof v === 'string') answerHeaders.set(name, v);
        const answer = { status: res.status, headers: answerHeaders, text: res.text, json };
        const sent = { method, target: path, requestId: header === 'x-request-id' ? value : undefined };
        checkAnswer(sent, answer);
        await settle({ method, template: path }, sent, answer);
        if (header === 'x-request-id' && SANE_REQUEST_ID.test(value)) expect(answerHeaders.get('x-request-id')).toBe(value);
      }),
      params(RUNS * 2),
    );
  }, 300_000);
});

describe('HTTP fuzz: every accepted trace can be read back', () => {
  const text = (max: number) => hostileString.filter((t) => t.length <= max);
  const short = text(200);
  const tag = short.filter((t) => t.length >= 1);
  const storable = fc.record(
    {
      input: fc.oneof(text(5000), fc.record({ messages: fc.array(fc.record({ role: tag.filter((t) => t.length <= 64), content: text(2000) }), { minLength: 1, maxLength: 3 }) })),
      output: fc.oneof(text(5000), fc.record({ content: text(2000), finish_reason: fc.option(short) })),
      application: short,
      model: fc.record({ provider: short, name: short, parameters: fc.dictionary(short, hostileValue, { maxKeys: 3 }) }, { requiredKeys: [] }),
      context: fc.array(fc.oneof(text(2000), fc.record({ content: text(2000), id: short, source: short, score: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: ['content'] })), { maxLength: 3 }),
      json_schema: fc.dictionary(short, hostileValue, { maxKeys: 3 }),
      reference: text(2000),
      metadata: fc.dictionary(short, text(2000), { maxKeys: 4 }),
      tags: fc.array(tag, { maxLength: 4 }),
      user_id: short,
      session_id: short,
      timestamp: fc.oneof(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString())),
      usage: fc.record({ input_tokens: fc.nat(), output_tokens: fc.nat(), cost_usd: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: [] }),
      latency_ms: fc.double({ min: 0, max: 4_294_967_295, noNaN: true }),
    },
    { requiredKeys: ['input', 'output'] },
  );
  let next = 0;

  it('stores every trace answered 202 and shows it by id without a 5xx, its text unchanged', async () => {
    await freshLimits();
    // Masking (a policy the fuzzer may have saved) rewrites text on purpose: back to the default policy.
    for (const org of ORGS) {
      const reset = await call(new Request('http://fuzz/v1/policy', { method: 'PUT', headers: { authorization: `Bearer ${keyOf(org, 'admin')}`, 'content-type': 'application/json' }, body: '{}' }));
      expect(reset.status, reset.text).toBe(200);
    }
    baseline = await snapshot();
    const op = ops.find((o) => o.method === 'POST' && o.template === '/v1/traces')!;
    await fc.assert(
      fc.asyncProperty(storable, validKey(['all']).filter((k) => k !== OPERATOR_KEY), async (trace, key) => {
        const id = `fuzz-readback-${++next}`;
        const body = JSON.stringify({ trace_id: id, ...trace });
        const answer = await call(new Request('http://fuzz/v1/traces', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body }));
        const sent = { method: 'POST', target: '/v1/traces', requestId: undefined };
        checkAnswer(sent, answer);
        await settle(op, sent, answer);
        count({ method: 'POST', template: '/v1/traces (to read back)' }, String(answer.status));
        if (answer.status !== 202) return;
        const deadline = Date.now() + 15_000;
        for (;;) {
          const read = await call(new Request(`http://fuzz/v1/traces/${id}`, { headers: { authorization: `Bearer ${key}` } }));
          checkAnswer({ method: 'GET', target: `/v1/traces/${id}`, requestId: undefined }, read);
          if (read.status === 200) {
            const shown = (read.json as { trace: Record<string, unknown> }).trace;
            expect(shown.trace_id).toBe(id);
            // Text survives storage exactly (NUL included); a lone surrogate cannot (UTF-8 has no form for it).
            if (!/\\ud[89a-f]/i.test(body)) {
              for (const field of ['reference', 'user_id', 'session_id', 'application', 'metadata', 'tags'] as const) {
                const sentValue = (trace as Record<string, unknown>)[field];
                const expected = sentValue === undefined ? (field === 'metadata' ? {} : field === 'tags' ? [] : null) : sentValue;
                expect(shown[field], `${field} of ${id}`).toEqual(expected);
              }
              if (typeof trace.input === 'string') expect(shown.input, `input of ${id}`).toBe(trace.input);
            }
            return;
          }
          if (Date.now() > deadline) throw new Error(`trace ${id} was answered 202 and is not readable after 15 s (last answer ${read.status}); body: ${body.slice(0, 300)}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }),
      params(RUNS * 2),
    );
  }, 300_000);
});

// Last: it breaks the surface on purpose.
describe('HTTP fuzz with the trace log down (a deliberately broken dependency)', () => {
  it('answers ingest with 503 and Retry-After, or a 4xx, and accepts nothing', async () => {
    await surface.stopTraceSink();
    await surface.backbone.log.close();
    const ingest = ops.filter((op) => INGEST.has(`${op.method} ${op.template}`));
    expect(ingest.length).toBe(2);
    for (const op of ingest) {
      const valid = await call(new Request(`http://fuzz${op.template}`, { method: 'POST', headers: { authorization: `Bearer ${keyOf('org_fuzz_a', 'ingest')}`, 'content-type': 'application/json' }, body: JSON.stringify(op.example) }));
      expect(valid.status, valid.text).toBe(503);
      expect(valid.headers.get('retry-after')).not.toBeNull();
      checkAnswer({ method: op.method, target: op.template, requestId: undefined }, valid, { allow503: true });
      const arb = fc.record({ key: validKey(['all', 'ingest']), body: hostileBody(op.example), rid: requestId });
      await fc.assert(
        fc.asyncProperty(arb, async ({ key, body, rid }) => {
          const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
          if (rid !== undefined) headers['x-request-id'] = rid;
          const request = requestOf({ op, path: op.template, headers, body });
          if (request === null) return;
          const answer = await call(request);
          checkAnswer({ method: op.method, target: op.template, requestId: rid }, answer, { allow503: true });
          expect(answer.status, answer.text.slice(0, 300)).not.toBe(202);
        }),
        params(RUNS),
      );
    }
  }, 300_000);
});
