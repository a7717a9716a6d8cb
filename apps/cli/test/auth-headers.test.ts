/**
 * A request with its credentials header twice is refused the same way by the gateway and the console
 * (401 malformed_api_key, `error="invalid_request"`), over a real socket as clients send it. Found
 * by an outside probe: the gateway took the first Authorization header (Node keeps only the first in
 * `headers`) while the console saw both joined with ", " and refused them.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf, startSurface, type Surface } from './fuzz/surface.js';

let surface: Surface;

beforeAll(async () => {
  surface = await startSurface();
}, 120_000);

afterAll(async () => {
  await surface?.close();
});

/** Sends raw HTTP/1.1 and returns the status, the headers block and the body. */
function raw(bytes: string): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(surface.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    });
  });
}

function request(method: string, path: string, headers: string[], body = ''): Promise<{ status: number; head: string; body: string }> {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers];
  if (body !== '') lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  return raw(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

describe('credentials headers sent twice', () => {
  const key = keyOf('org_fuzz_a', 'all');
  const other = keyOf('org_fuzz_b', 'all');
  const trace = JSON.stringify({ input: 'q', output: 'a' });
  const routes = [
    { app: 'gateway', method: 'POST', path: '/v1/traces', body: trace, ok: 202 },
    { app: 'console', method: 'GET', path: '/v1/policy', body: '', ok: 200 },
  ] as const;

  it('are refused alike by the gateway and the console, whatever the values', async () => {
    for (const route of routes) {
      const once = await request(route.method, route.path, [`Authorization: Bearer ${key}`], route.body);
      expect(once.status, `${route.app} with one header: ${once.body}`).toBe(route.ok);
      for (const pair of [
        [key, key],
        [key, other],
        [key, 'not-a-key'],
        ['not-a-key', key],
      ]) {
        const twice = await request(route.method, route.path, pair.map((k) => `Authorization: Bearer ${k}`), route.body);
        expect(twice.status, `${route.app} ${pair.join(' + ')}: ${twice.body}`).toBe(401);
        expect((JSON.parse(twice.body) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'malformed_api_key', message: expect.stringMatching(/more than one Authorization/i) });
        expect(twice.head).toMatch(/www-authenticate: Bearer realm="metronis", error="invalid_request"/i);
      }
    }
  });

  it('refuses X-API-Key twice on the gateway, where it is read', async () => {
    const twice = await request('POST', '/v1/traces', [`X-API-Key: ${key}`, `X-API-Key: ${key}`], trace);
    expect(twice.status, twice.body).toBe(401);
    expect(twice.body).toMatch(/malformed_api_key/);
  });
});
