import { toTraceRecord, type PublicTrace } from '@metronis/schemas';
import { TOPICS } from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { KEYS, ORG, post, SETUP_TIMEOUT_MS, seedKeys, traceBody } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

const NOW = 1_767_225_600_000;

interface ErrorJson {
  error: { code: string; message: string; issues?: { path: string; message: string }[]; request_id: string };
}

async function errorOf(res: Response, status: number, code: string): Promise<ErrorJson['error']> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = JSON.parse(text) as ErrorJson;
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
  return body.error;
}

describe('ingest gateway over the embedded log', () => {
  let gw: TestGateway;
  let generated = 0;

  beforeAll(async () => {
    gw = await startTestGateway({ clock: () => NOW, generateId: () => `gen-${++generated}` });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw.close();
  });

  /** The decoded records on the log with these trace ids, in the order given. */
  async function produced(ids: string[]) {
    const all = await gw.readTraces(await gw.countOnLog());
    return ids.map((id) => {
      const found = all.filter((r) => r.trace.trace_id === id);
      expect(found, `records with trace_id ${id}`).toHaveLength(1);
      return found[0]!;
    });
  }

  describe('POST /v1/traces', () => {
    it('refuses a metadata key "__proto__" with 400 naming it, instead of dropping the entry, and writes nothing', async () => {
      const before = await gw.countOnLog();
      const raw = JSON.stringify(traceBody()).replace('"metadata":{', '"metadata":{"__proto__":"x",');
      const error = await errorOf(await gw.app.request(...post('/v1/traces', raw)), 400, 'invalid_body');
      expect(error.issues?.map((i) => i.path)).toEqual(['$.metadata.__proto__']);
      expect(await gw.countOnLog()).toBe(before);
    });

    it('answers 202 with the trace id only after the record is on the log, keyed by trace id, equal to toTraceRecord of the body', async () => {
      const body = traceBody({ trace_id: 'client-1', timestamp: '2026-01-01T00:00:00Z', context: ['Paris is in France.'] });
      const sendsBefore = gw.sends.length;
      const res = await gw.app.request(...post('/v1/traces', body));
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ trace_id: 'client-1' });
      expect(gw.sends.slice(sendsBefore)).toEqual([1]);
      const { record, trace } = (await produced(['client-1']))[0]!;
      expect(record.topic).toBe(TOPICS.traces.name);
      expect(record.key).toBe('client-1');
      expect(trace).toEqual(toTraceRecord(body as PublicTrace, { orgId: ORG, receivedAt: NOW, generateId: () => 'unused' }));
      expect(trace.org_id).toBe(ORG);
      expect(trace.received_at).toBe(NOW);
    });

    it('generates the trace id when the body has none', async () => {
      const res = await gw.app.request(...post('/v1/traces', { input: 'hi', output: 'hello' }));
      expect(res.status).toBe(202);
      const { trace_id } = (await res.json()) as { trace_id: string };
      expect(trace_id).toMatch(/^gen-\d+$/);
      const { trace } = (await produced([trace_id]))[0]!;
      expect(trace).toEqual(toTraceRecord({ input: 'hi', output: 'hello' }, { orgId: ORG, receivedAt: NOW, generateId: () => trace_id }));
    });

    it('accepts the key in X-API-Key when there is no Authorization header', async () => {
      const res = await gw.app.request('/v1/traces', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEYS.ingest },
        body: JSON.stringify(traceBody()),
      });
      expect(res.status).toBe(202);
    });

    it('names the JSON path of every invalid field, and produces nothing', async () => {
      const before = await gw.countOnLog();
      const res = await gw.app.request(
        ...post('/v1/traces', {
          input: { messages: [{ role: 'user' }] },
          output: { content: 42 },
          usage: { input_tokens: -1 },
          expected_format: 'xml',
          timestamp: 'yesterday',
          trace_id: 'has space',
        }),
      );
      const error = await errorOf(res, 400, 'invalid_body');
      const byPath = Object.fromEntries(error.issues!.map((i) => [i.path, i.message]));
      expect(byPath).toEqual({
        '$.input.messages[0].content': 'required: a string',
        '$.output.content': 'expected a string, received number',
        '$.usage.input_tokens': expect.stringMatching(/>=\s*0/),
        '$.expected_format': expect.stringMatching(/text.*json.*markdown/),
        '$.timestamp': expect.stringMatching(/datetime/i),
        '$.trace_id': expect.stringMatching(/letters, digits/),
      });
      expect(error.message).toMatch(/^the trace is invalid \(6 problems\); first: \$\./);
      expect(await gw.countOnLog()).toBe(before);
    });

    it('says which forms a union takes, and which required field is missing', async () => {
      const res = await gw.app.request(...post('/v1/traces', { input: 42 }));
      const error = await errorOf(res, 400, 'invalid_body');
      expect(error.issues).toEqual([
        { path: '$.input', message: 'expected a string or an object, received number' },
        { path: '$.output', message: 'required: a string or an object' },
      ]);
    });

    it('refuses unknown fields one by one, at any depth', async () => {
      const res = await gw.app.request(...post('/v1/traces', traceBody({ outptu: 'typo', model: { name: 'm', version: '1' } })));
      const error = await errorOf(res, 400, 'invalid_body');
      expect([...error.issues!].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { path: '$.model.version', message: 'unknown field' },
        { path: '$.outptu', message: 'unknown field' },
      ]);
    });

    it('refuses org_id in the body: the organization comes from the key', async () => {
      const res = await gw.app.request(...post('/v1/traces', traceBody({ org_id: 'org_other' })));
      const error = await errorOf(res, 400, 'invalid_body');
      expect(error.issues).toEqual([{ path: '$.org_id', message: expect.stringMatching(/organization comes from the API key/) }]);
    });

    it('answers 400 for a body that is not an object', async () => {
      const error = await errorOf(await gw.app.request(...post('/v1/traces', [traceBody()])), 400, 'invalid_body');
      expect(error.issues).toEqual([{ path: '$', message: 'expected an object, received array' }]);
    });

    it('answers 400 invalid_json for malformed JSON, saying where', async () => {
      const error = await errorOf(await gw.app.request(...post('/v1/traces', '{\n  "input": "x",\n  "output": "y",\n}')), 400, 'invalid_json');
      expect(error.message).toMatch(/^malformed JSON at line 4, column 1: /);
      const truncated = await errorOf(await gw.app.request(...post('/v1/traces', '{"input": "x"')), 400, 'invalid_json');
      expect(truncated.message).toMatch(/^malformed JSON/);
      const empty = await errorOf(await gw.app.request(...post('/v1/traces', '')), 400, 'invalid_json');
      expect(empty.message).toBe('malformed JSON: the body is empty');
    });

    it('answers 400 for a body that is not UTF-8', async () => {
      const [path, init] = post('/v1/traces', '');
      const bytes = Buffer.concat([Buffer.from('{"input":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","output":"y"}')]);
      const error = await errorOf(await gw.app.request(path, { ...init, body: bytes }), 400, 'invalid_json');
      expect(error.message).toMatch(/UTF-8/);
    });

    it('answers 413 for a body over the single-trace limit (1 MiB by default)', async () => {
      const before = await gw.countOnLog();
      const res = await gw.app.request(...post('/v1/traces', traceBody({ output: 'x'.repeat(1024 * 1024) })));
      const error = await errorOf(res, 413, 'body_too_large');
      expect(error.message).toMatch(/1048576 bytes/);
      expect(await gw.countOnLog()).toBe(before);
    });

    it('answers 415 unless the content type is application/json', async () => {
      for (const type of ['text/plain', 'application/xml', 'application/jsonx', 'multipart/form-data']) {
        const error = await errorOf(await gw.app.request(...post('/v1/traces', traceBody(), { 'content-type': type })), 415, 'unsupported_media_type');
        expect(error.message).toMatch(/application\/json/);
      }
      const untyped = { method: 'POST', headers: { authorization: `Bearer ${KEYS.ingest}` }, body: Buffer.from(JSON.stringify(traceBody())) };
      const error = await errorOf(await gw.app.request('/v1/traces', untyped), 415, 'unsupported_media_type');
      expect(error.message).toMatch(/none was sent/);
      const ok = await gw.app.request(...post('/v1/traces', traceBody(), { 'content-type': 'Application/JSON; charset=utf-8' }));
      expect(ok.status).toBe(202);
    });
  });

  describe('authentication', () => {
    const bodyWith = (headers: Record<string, string>): [string, RequestInit] => [
      '/v1/traces',
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(traceBody()) },
    ];

    it('answers 401 missing_api_key with WWW-Authenticate when no key is sent', async () => {
      const res = await gw.app.request(...bodyWith({}));
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metronis"');
      await errorOf(res, 401, 'missing_api_key');
    });

    it('answers 401 malformed_api_key for an Authorization header that is not Bearer <key>', async () => {
      for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', `Token ${KEYS.ingest}`, `Bearer ${'k'.repeat(257)}`]) {
        const res = await gw.app.request(...bodyWith({ authorization }));
        expect(res.headers.get('www-authenticate'), authorization).toMatch(/^Bearer realm="metronis", error="invalid_token"$/);
        await errorOf(res, 401, 'malformed_api_key');
      }
      await errorOf(await gw.app.request(...bodyWith({ 'x-api-key': 'has space' })), 401, 'malformed_api_key');
    });

    it('answers 401 saying whether the key is unknown or expired', async () => {
      for (const [key, code, message] of [
        ['mk_test_nobody', 'invalid_api_key', 'unknown API key'],
        [KEYS.expired, 'expired_api_key', 'this API key has expired'],
      ] as const) {
        const res = await gw.app.request(...bodyWith({ authorization: `Bearer ${key}` }));
        expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
        const error = await errorOf(res, 401, code);
        expect(error.message).toBe(message);
      }
    });

    it('answers 403 insufficient_scope for a key without the ingest scope', async () => {
      const res = await gw.app.request(...bodyWith({ authorization: `Bearer ${KEYS.readOnly}` }));
      expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="ingest"/);
      await errorOf(res, 403, 'insufficient_scope');
    });

    it('checks the key before the body: no key and a bad body is 401', async () => {
      const res = await gw.app.request('/v1/traces/batch', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'nonsense' });
      await errorOf(res, 401, 'missing_api_key');
    });
  });

  describe('POST /v1/traces/batch', () => {
    it('writes every item with one send and answers 202 with each index and trace id', async () => {
      const bodies = [traceBody({ trace_id: 'b-1' }), { input: 'q', output: 'a' }, traceBody({ trace_id: 'b-3', tags: ['x'] })];
      const sendsBefore = gw.sends.length;
      const res = await gw.app.request(...post('/v1/traces/batch', { traces: bodies }));
      expect(res.status).toBe(202);
      const result = (await res.json()) as { accepted: { index: number; trace_id: string }[]; rejected: unknown[] };
      expect(result.rejected).toEqual([]);
      expect(result.accepted.map((a) => a.index)).toEqual([0, 1, 2]);
      expect(result.accepted[0]!.trace_id).toBe('b-1');
      expect(result.accepted[1]!.trace_id).toMatch(/^gen-\d+$/);
      expect(gw.sends.slice(sendsBefore)).toEqual([3]);
      const records = await produced(result.accepted.map((a) => a.trace_id));
      records.forEach(({ record, trace }, i) => {
        expect(record.key).toBe(result.accepted[i]!.trace_id);
        expect(trace).toEqual(toTraceRecord(bodies[i] as PublicTrace, { orgId: ORG, receivedAt: NOW, generateId: () => result.accepted[i]!.trace_id }));
      });
    });

    it('answers 202 with per-item rejections when some items are invalid, and writes only the valid ones', async () => {
      const before = await gw.countOnLog();
      const res = await gw.app.request(
        ...post('/v1/traces/batch', {
          traces: [traceBody({ trace_id: 'm-1' }), { input: 'no output' }, traceBody({ trace_id: 'm-1' }), traceBody({ org_id: 'x' }), traceBody({ trace_id: 'm-5' })],
        }),
      );
      expect(res.status).toBe(202);
      const result = (await res.json()) as { accepted: unknown[]; rejected: unknown[] };
      expect(result.accepted).toEqual([
        { index: 0, trace_id: 'm-1' },
        { index: 4, trace_id: 'm-5' },
      ]);
      expect(result.rejected).toEqual([
        { index: 1, errors: [{ path: '$.traces[1].output', message: 'required: a string or an object' }] },
        { index: 2, errors: [{ path: '$.traces[2].trace_id', message: 'duplicate trace_id: already used by $.traces[0] in this batch' }] },
        { index: 3, errors: [{ path: '$.traces[3].org_id', message: expect.stringMatching(/organization comes from the API key/) }] },
      ]);
      expect(await gw.countOnLog()).toBe(before + 2);
    });

    it('answers 400 invalid_body with every issue when no item is valid, and writes nothing', async () => {
      const before = await gw.countOnLog();
      const sendsBefore = gw.sends.length;
      const res = await gw.app.request(...post('/v1/traces/batch', { traces: [{ input: 1, output: 'a' }, traceBody({ usage: { cost_usd: 'cheap' } })] }));
      const error = await errorOf(res, 400, 'invalid_body');
      expect(error.message).toMatch(/^every trace in the batch was rejected \(2 of 2\)/);
      expect(error.issues).toEqual([
        { path: '$.traces[0].input', message: 'expected a string or an object, received number' },
        { path: '$.traces[1].usage.cost_usd', message: 'expected a number, received string' },
      ]);
      expect(gw.sends.length).toBe(sendsBefore);
      expect(await gw.countOnLog()).toBe(before);
    });

    it('answers 400 for a body that is not { "traces": [...] }', async () => {
      const cases: [unknown, string, RegExp][] = [
        [[traceBody()], '$', /expected an object \{ "traces": \[\.\.\.\] \}, received array/],
        [{}, '$.traces', /required/],
        [{ traces: traceBody() }, '$.traces', /expected an array of traces, received object/],
        [{ traces: [] }, '$.traces', /at least one trace/],
        [{ traces: [traceBody()], org_id: 'x' }, '$.org_id', /organization comes from the API key/],
        [{ traces: [traceBody()], extra: 1 }, '$.extra', /^unknown field$/],
      ];
      for (const [body, path, message] of cases) {
        const error = await errorOf(await gw.app.request(...post('/v1/traces/batch', body)), 400, 'invalid_body');
        expect(error.issues, JSON.stringify(body)).toEqual([{ path, message: expect.stringMatching(message) }]);
      }
    });

    it('answers 413 too_many_items over 1,000 items', async () => {
      const error = await errorOf(await gw.app.request(...post('/v1/traces/batch', { traces: Array.from({ length: 1001 }, () => ({})) })), 413, 'too_many_items');
      expect(error.message).toMatch(/at most 1000 traces, this one has 1001/);
    });

    it('answers 413 body_too_large over 10 MiB, and writes nothing', async () => {
      const before = await gw.countOnLog();
      const big = 'x'.repeat(900_000);
      const traces = Array.from({ length: 12 }, (_, i) => traceBody({ trace_id: `big-${i}`, output: big }));
      const error = await errorOf(await gw.app.request(...post('/v1/traces/batch', { traces })), 413, 'body_too_large');
      expect(error.message).toMatch(/10485760 bytes/);
      expect(await gw.countOnLog()).toBe(before);
    });

    it('takes a batch of 1,000 items under 10 MiB', async () => {
      const traces = Array.from({ length: 1000 }, (_, i) => ({ trace_id: `k-${i}`, input: 'q', output: 'a' }));
      const res = await gw.app.request(...post('/v1/traces/batch', { traces }));
      expect(res.status).toBe(202);
      expect(((await res.json()) as { accepted: unknown[] }).accepted).toHaveLength(1000);
    });
  });

  describe('request ids, probes, routing', () => {
    it('generates an X-Request-Id when none is sent, and keeps a sane one', async () => {
      const a = await gw.app.request('/healthz');
      const b = await gw.app.request('/healthz');
      expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
      expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
      const kept = await gw.app.request(...post('/v1/traces', traceBody(), { 'x-request-id': 'client.req-42' }));
      expect(kept.status).toBe(202);
      expect(kept.headers.get('x-request-id')).toBe('client.req-42');
    });

    it('replaces an incoming request id that is not sane', async () => {
      for (const id of ['has space', 'x'.repeat(129), '<script>']) {
        const res = await gw.app.request('/healthz', { headers: { 'x-request-id': id } });
        expect(res.headers.get('x-request-id')).not.toBe(id);
        expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-/);
      }
    });

    it('puts the request id on errors, in the header and the envelope', async () => {
      const res = await gw.app.request(...post('/v1/traces', '{', { 'x-request-id': 'err-1' }));
      expect(res.headers.get('x-request-id')).toBe('err-1');
      expect((await errorOf(res, 400, 'invalid_json')).request_id).toBe('err-1');
    });

    it('logs one line per request with its status and latency', async () => {
      const from = gw.logger.lines.length;
      await gw.app.request(...post('/v1/traces', traceBody(), { 'x-request-id': 'log-1' }));
      const lines = gw.logger.lines.slice(from).filter((l) => l.obj.request_id === 'log-1');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'info', obj: { method: 'POST', path: '/v1/traces', status: 202, org_id: ORG } });
      expect(typeof lines[0]!.obj.latency_ms).toBe('number');
    });

    it('answers 404 not_found in the envelope for unknown routes and methods', async () => {
      await errorOf(await gw.app.request('/v2/traces'), 404, 'not_found');
      await errorOf(await gw.app.request('/v1/traces'), 404, 'not_found');
    });

    it('answers /healthz and /readyz without a key', async () => {
      const health = await gw.app.request('/healthz');
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await gw.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { log: true } });
    });
  });
});

describe('ingest gateway when something fails', () => {
  let store: RelationalStore;
  beforeAll(async () => {
    store = createPgliteStore();
    await seedKeys(store);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await store.close();
  });
  it('answers 503 with Retry-After and reports nothing accepted when the log is closed', async () => {
    const gw = await startTestGateway({ store });
    try {
      await gw.log.close();
      const single = await gw.app.request(...post('/v1/traces', traceBody({ trace_id: 'lost-1' })));
      expect(single.headers.get('retry-after')).toBe('1');
      const text = await single.clone().text();
      expect(text).not.toMatch(/lost-1|metronis-gateway-|embedded log/);
      await errorOf(single, 503, 'log_unavailable');

      const batch = await gw.app.request(...post('/v1/traces/batch', { traces: [traceBody({ trace_id: 'lost-2' }), traceBody()] }));
      expect(batch.headers.get('retry-after')).toBe('1');
      const error = await errorOf(batch, 503, 'log_unavailable');
      expect(error.message).toMatch(/nothing was accepted/);
      expect(JSON.stringify(error)).not.toMatch(/accepted"|lost-2/);

      const failed = gw.logger.lines.filter((l) => l.level === 'error');
      expect(failed).toHaveLength(2);
      expect(failed[0]!.obj).toMatchObject({ status: 503, path: '/v1/traces' });
      expect(String((failed[0]!.obj.err as Error).name)).toBe('LogUnavailableError');
    } finally {
      await gw.close();
    }
  });

  it('does not answer before the log has acknowledged the write', async () => {
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const sending = new Promise<void>((resolve) => (entered = resolve));
    const gw = await startTestGateway({
      store,
      // Holds the real producer's send until the test releases it.
      wrapProducer: (producer) => ({
        send: async (records) => {
          entered();
          await held;
          return producer.send(records);
        },
        close: () => producer.close(),
      }),
    });
    try {
      let answered = false;
      const pending = Promise.resolve(gw.app.request(...post('/v1/traces', traceBody({ trace_id: 'held-1' })))).then((res) => ((answered = true), res));
      await sending;
      await new Promise((resolve) => setImmediate(resolve));
      expect(answered).toBe(false);
      release();
      expect((await pending).status).toBe(202);
      expect(await gw.countOnLog()).toBe(1);
    } finally {
      release();
      await gw.close();
    }
  });

  it('answers 503 when the log does not acknowledge within produceTimeoutMs', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const gw = await startTestGateway({
      store,
      limits: { produceTimeoutMs: 50 },
      // Delays the real producer's acknowledgement until the test releases it.
      wrapProducer: (producer) => ({ send: async (records) => (await held, producer.send(records)), close: () => producer.close() }),
    });
    try {
      const res = await gw.app.request(...post('/v1/traces', traceBody({ trace_id: 'slow-1' })));
      expect(res.headers.get('retry-after')).toBe('1');
      await errorOf(res, 503, 'log_unavailable');
      expect(String((gw.logger.lines.find((l) => l.level === 'error')!.obj.err as Error).message)).toMatch(/within 50 ms/);
    } finally {
      release();
      await gw.close();
    }
  });

  it('answers 503 auth_unavailable when keys cannot be checked', async () => {
    const gw = await startTestGateway({
      store,
      authenticate: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:15432'), { code: 'ECONNREFUSED' });
      },
    });
    try {
      const res = await gw.app.request(...post('/v1/traces', traceBody()));
      expect(res.headers.get('retry-after')).toBe('1');
      const error = await errorOf(res, 503, 'auth_unavailable');
      expect(error.message).not.toMatch(/ECONNREFUSED|15432/);
    } finally {
      await gw.close();
    }
  });

  it('answers 500 internal_error without internals when encoding fails unexpectedly, and logs the error', async () => {
    const gw = await startTestGateway({
      store,
      encodeTrace: () => {
        throw new Error('SELECT secret FROM keys at /srv/app/encode.ts:12');
      },
    });
    try {
      const res = await gw.app.request(...post('/v1/traces', traceBody()));
      const text = await res.clone().text();
      expect(text).not.toMatch(/SELECT|\/srv|encode\.ts|at /);
      await errorOf(res, 500, 'internal_error');
      const line = gw.logger.lines.find((l) => l.level === 'error')!;
      expect(line.obj.status).toBe(500);
      expect((line.obj.err as Error).message).toMatch(/SELECT secret/);
      expect(await gw.countOnLog()).toBe(0);
    } finally {
      await gw.close();
    }
  });

  it('answers /readyz 503 listing the failed checks, and 503 when the check itself fails', async () => {
    let checks: () => Promise<Record<string, boolean>> = async () => ({ log: true, registry: false, store: false });
    const gw = await startTestGateway({ store, ready: () => checks() });
    try {
      const res = await gw.app.request('/readyz');
      const body = (await res.clone().json()) as { checks: Record<string, boolean> };
      expect(body.checks).toEqual({ log: true, registry: false, store: false });
      expect((await errorOf(res, 503, 'not_ready')).message).toBe('not ready: registry, store');
      checks = async () => {
        throw new Error('boom');
      };
      await errorOf(await gw.app.request('/readyz'), 503, 'not_ready');
    } finally {
      await gw.close();
    }
  });

  it('refuses limits that are not positive integers', async () => {
    const gw = await startTestGateway({ store });
    try {
      const { createGatewayApp } = await import('../src/index.js');
      expect(() =>
        createGatewayApp({ producer: gw.log.producer(), encodeTrace: gw.traces.encode, authenticate: async () => ({ rejected: 'unknown' as const }), ready: async () => ({}), logger: gw.logger, limits: { batchItems: 0 } }),
      ).toThrow(/limits\.batchItems must be a positive integer, got 0/);
    } finally {
      await gw.close();
    }
  });
});
