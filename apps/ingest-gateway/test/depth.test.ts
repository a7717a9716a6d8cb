/**
 * Bodies nested deeper than MAX_JSON_DEPTH are a 400 and nothing reaches the log. Found by the HTTP
 * fuzz suite: a trace whose `json_schema` or `model.parameters` nested 10,000 arrays answered 500
 * (JSON.stringify overflowed the stack while the trace was encoded).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/body.js';
import { KEYS, SETUP_TIMEOUT_MS } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

/** `{"input":"q","output":"a","json_schema":{"a":[[...]]}}` with the whole body nested `depth` levels. */
function traceNested(field: 'json_schema' | 'parameters', depth: number): string {
  // body (1) > json_schema (2) > "a": arrays from level 3; model.parameters sits one level lower.
  const arrays = depth - (field === 'json_schema' ? 2 : 3);
  const inner = `{"a":${'['.repeat(arrays)}${']'.repeat(arrays)}}`;
  return field === 'json_schema' ? `{"input":"q","output":"a","json_schema":${inner}}` : `{"input":"q","output":"a","model":{"parameters":${inner}}}`;
}

function send(gw: TestGateway, path: string, body: string): Promise<Response> {
  return Promise.resolve(gw.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${KEYS.ingest}`, 'content-type': 'application/json' }, body }));
}

describe('nesting depth', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw?.close();
  });

  it('counts levels of objects and arrays, scalars not included', () => {
    expect(nestsDeeperThan({ a: 1 }, 1)).toBe(false);
    expect(nestsDeeperThan({ a: [] }, 1)).toBe(true);
    expect(nestsDeeperThan([[[1]]], 3)).toBe(false);
    expect(nestsDeeperThan([[[[]]]], 3)).toBe(true);
    expect(nestsDeeperThan(JSON.parse(`{"__proto__":${'['.repeat(10)}${']'.repeat(10)}}`), 5)).toBe(true);
  });

  for (const field of ['json_schema', 'parameters'] as const) {
    it(`accepts a trace nested ${MAX_JSON_DEPTH} levels through ${field} and refuses ${MAX_JSON_DEPTH + 1} and 10,000 with 400, writing nothing`, async () => {
      const before = await gw.countOnLog();
      const ok = await send(gw, '/v1/traces', traceNested(field, MAX_JSON_DEPTH));
      expect(ok.status, await ok.clone().text()).toBe(202);
      for (const depth of [MAX_JSON_DEPTH + 1, 10_000]) {
        const res = await send(gw, '/v1/traces', traceNested(field, depth));
        const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
        expect(res.status).toBe(400);
        expect(body.error.code).toBe('invalid_body');
        expect(body.error.issues[0]?.path).toBe('$');
      }
      expect(await gw.countOnLog()).toBe(before + 1);
    });
  }

  it('refuses a batch holding one over-deep trace as a whole, before any item is written', async () => {
    const before = await gw.countOnLog();
    const res = await send(gw, '/v1/traces/batch', `{"traces":[{"input":"q","output":"a"},${traceNested('json_schema', 10_000)}]}`);
    expect(res.status).toBe(400);
    expect(await gw.countOnLog()).toBe(before);
  });
});
