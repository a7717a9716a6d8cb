/** `listen` serves with the instance protections: the in-flight bound (health exempt) and the timeouts. */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type HttpServer } from '../src/http.js';

describe('listen', () => {
  let server: HttpServer;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const errors: object[] = [];

  beforeAll(async () => {
    const fetch = async (request: Request): Promise<Response> => {
      if (new URL(request.url).pathname === '/slow') await held;
      return new Response('ok');
    };
    server = await listen(fetch, { host: '127.0.0.1', port: 0, limits: { maxInFlight: 1, headersTimeoutMs: 300, requestTimeoutMs: 600 }, logger: { error: (obj) => errors.push(obj) } });
  });
  afterAll(async () => {
    release();
    await server.close();
  });

  it('answers 503 overloaded past maxInFlight, and still answers /healthz', async () => {
    const slow = fetch(`${server.url}/slow`);
    // The slow request is in flight once the next one is refused; poll until then.
    let refused: Response | undefined;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const res = await fetch(`${server.url}/other`);
      if (res.status === 503) refused = res;
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe('overloaded');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(errors).toEqual([expect.objectContaining({ event: 'overloaded', max_in_flight: 1 })]);
    release();
    expect((await slow).status).toBe(200);
    expect((await fetch(`${server.url}/other`)).status).toBe(200);
  });

  it('closes a connection whose headers never finish', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write('GET /other HTTP/1.1\r\nHost: x\r\n');
    const parts: Buffer[] = [];
    socket.on('data', (part: Buffer) => parts.push(part));
    await once(socket, 'close');
    expect(Buffer.concat(parts).toString()).toMatch(/^HTTP\/1\.1 408 /);
  });
});
