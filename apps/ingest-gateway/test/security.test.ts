/**
 * Security headers on every answer (accepted, refused, not found, failed) and CORS only for the
 * configured origins, on the gateway over real parts (embedded log, PGlite keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CSP } from '../src/index.js';
import { KEYS, post, traceBody } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

const ALLOWED = 'https://console.example.com';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ corsOrigins: [ALLOWED] });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

function expectSecurityHeaders(res: Response, what: string): void {
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(res.headers.get('content-security-policy'), what).toBe(API_CSP);
  expect(res.headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'");
}

describe('security headers', () => {
  it('are on accepted, refused, unknown-route and health answers', async () => {
    const answers: [string, Response][] = [
      ['202', await gw.app.request(...post('/v1/traces', traceBody()))],
      ['400', await gw.app.request(...post('/v1/traces', { input: 1 }))],
      ['401', await gw.app.request(...post('/v1/traces', traceBody(), { authorization: 'Bearer mk_nobody_0123456789' }))],
      ['403', await gw.app.request(...post('/v1/traces', traceBody(), { authorization: `Bearer ${KEYS.readOnly}` }))],
      ['404', await gw.app.request('/nope')],
      ['200', await gw.app.request('/healthz')],
    ];
    for (const [status, res] of answers) {
      expect(String(res.status)).toBe(status);
      expectSecurityHeaders(res, status);
      expect(res.headers.get('strict-transport-security'), status).toBeNull();
    }
  });

  it('add HSTS only when the request came over TLS', async () => {
    const viaProxy = await gw.app.request('/healthz', { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaProxy.headers.get('strict-transport-security')).toMatch(/^max-age=31536000; includeSubDomains$/);
    const direct = await gw.app.request('https://gateway.example.com/healthz');
    expect(direct.headers.get('strict-transport-security')).not.toBeNull();
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin with the methods, headers and exposed rate-limit headers', async () => {
    const res = await gw.app.request('/v1/traces', {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const actual = await gw.app.request(...post('/v1/traces', traceBody(), { origin: ALLOWED }));
    expect(actual.status).toBe(202);
    expect(actual.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(actual.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  it('gives another origin no CORS headers, so a browser keeps the answer from it', async () => {
    const res = await gw.app.request('/v1/traces', { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const actual = await gw.app.request(...post('/v1/traces', traceBody(), { origin: 'https://evil.example.com' }));
    expect(actual.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is off without an allow-list', async () => {
    const plain = await startTestGateway();
    try {
      const res = await plain.app.request(...post('/v1/traces', traceBody(), { origin: ALLOWED }));
      expect(res.status).toBe(202);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
