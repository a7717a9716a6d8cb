import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { createGatewayApp, ERROR_CODES } from '../src/index.js';
import { memoryLogger, traceBody } from './fixtures.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** The app alone: serving the document needs no log, store or key. */
function bareApp(limits?: { batchItems?: number }) {
  return createGatewayApp({
    producer: {
      send: () => Promise.reject(new Error('this test never produces')),
      close: async () => undefined,
    },
    encodeTrace: () => {
      throw new Error('this test never encodes');
    },
    authenticate: async () => ({ rejected: 'unknown' as const }),
    ready: async () => ({}),
    logger: memoryLogger(),
    limits,
  });
}

async function documentOf(app: ReturnType<typeof bareApp>): Promise<Record<string, any>> {
  const res = await app.request('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Record<string, any>;
}

function validatorFor(doc: Record<string, any>, component: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  return ajv.compile({ $ref: `openapi.json#/components/schemas/${component}` });
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route the app serves, with its method', async () => {
    const app = bareApp();
    const doc = await documentOf(app);
    expect(doc.openapi).toBe('3.1.0');
    const served = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${r.path}`);
    expect(served.length).toBeGreaterThanOrEqual(5);
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(new Set(documented)).toEqual(new Set(served));
  });

  it('documents every error code and the batch limit the app enforces', async () => {
    const doc = await documentOf(bareApp({ batchItems: 25 }));
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(Object.keys(ERROR_CODES));
    expect(doc.components.schemas.TraceBatch.properties.traces.maxItems).toBe(25);
  });

  it('has a Trace request schema that accepts the documented forms and rejects bad ones', async () => {
    const validate = validatorFor(await documentOf(bareApp()), 'Trace');
    const good = [
      traceBody(),
      { input: 'hi', output: 'hello' },
      traceBody({ trace_id: 'abc-1', timestamp: '2026-01-02T03:04:05Z', context: ['doc', { content: 'c', score: 0.5 }], expected_format: 'json' }),
      traceBody({ timestamp: 1_767_225_600_000, output: { content: 'x', finish_reason: null } }),
    ];
    for (const body of good) expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    const bad = [
      { input: 'hi' },
      { output: 'hello' },
      traceBody({ org_id: 'org_other' }),
      traceBody({ outptu: 'typo' }),
      traceBody({ input: 42 }),
      traceBody({ output: { content: 1 } }),
      traceBody({ expected_format: 'xml' }),
      traceBody({ timestamp: 'yesterday' }),
      traceBody({ trace_id: 'has space' }),
      traceBody({ usage: { input_tokens: -1 } }),
      'a string',
    ];
    for (const body of bad) expect(validate(body), JSON.stringify(body)).toBe(false);
  });

  it('has a TraceBatch schema and response schemas that match what the app answers', async () => {
    const doc = await documentOf(bareApp({ batchItems: 2 }));
    const batch = validatorFor(doc, 'TraceBatch');
    expect(batch({ traces: [traceBody()] })).toBe(true);
    expect(batch({ traces: [] })).toBe(false);
    expect(batch({ traces: [traceBody(), traceBody(), traceBody()] })).toBe(false);
    expect(batch({ traces: [traceBody()], extra: 1 })).toBe(false);
    expect(batch([traceBody()])).toBe(false);

    const error = validatorFor(doc, 'Error');
    const res = await bareApp().request('/v1/traces', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(error(await res.json()), JSON.stringify(error.errors)).toBe(true);
    expect(error({ error: { code: 'made_up', message: 'x', request_id: 'r' } })).toBe(false);

    const result = validatorFor(doc, 'BatchResult');
    expect(result({ accepted: [{ index: 0, trace_id: 't' }], rejected: [{ index: 1, errors: [{ path: '$.traces[1].input', message: 'm' }] }] })).toBe(true);
    expect(result({ accepted: [{ index: -1, trace_id: 't' }], rejected: [] })).toBe(false);
  });
});
