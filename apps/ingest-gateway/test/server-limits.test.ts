/**
 * Instance protection on a real listening server: slow clients are cut off by Node's header and
 * request timeouts, and past `maxInFlight` requests are answered 503 `overloaded` while the health
 * routes still answer. The timeouts are short here so the tests are quick; nothing asserts how fast.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerLimits, startGateway, type RunningGateway } from '../src/index.js';
import { KEYS, SETUP_TIMEOUT_MS, traceBody } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

const JSON_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${KEYS.ingest}` };

/** Everything the server sends until it closes the connection (or 20 s pass: then the test fails). */
async function untilClosed(socket: Socket): Promise<string> {
  const parts: Buffer[] = [];
  socket.on('data', (part: Buffer) => parts.push(part));
  const timer = setTimeout(() => socket.destroy(new Error('the server did not close the connection within 20 s')), 20_000);
  try {
    await once(socket, 'close');
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(parts).toString('utf8');
}

async function open(url: string): Promise<Socket> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

describe('server limits', () => {
  let gw: TestGateway;
  let server: RunningGateway;
  let release: () => void = () => undefined;
  let held = Promise.resolve();
  let waiting = 0;

  beforeAll(async () => {
    gw = await startTestGateway({
      // Sends wait for `release()` while `held` is pending, so requests can be kept in flight.
      wrapProducer: (producer) => ({
        send: async (records) => {
          waiting++;
          await held;
          waiting--;
          return producer.send(records);
        },
        close: () => producer.close(),
      }),
    });
    server = await startGateway({ app: gw.app, port: 0, logger: gw.logger, serverLimits: { maxInFlight: 2, headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    release();
    await server.close();
    await gw.close();
  });

  it('closes a connection whose headers never finish, answering 408', async () => {
    const socket = await open(server.url);
    socket.write('POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n');
    const answer = await untilClosed(socket);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection whose body trickles in past the request timeout, and writes nothing', async () => {
    const before = await gw.countOnLog();
    const socket = await open(server.url);
    const body = JSON.stringify(traceBody({ trace_id: 'slow-body' }));
    socket.write(`POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEYS.ingest}\r\nContent-Length: ${body.length}\r\n\r\n`);
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < body.length - 1 && !socket.destroyed) socket.write(body[sent++]!);
    }, 100);
    try {
      await untilClosed(socket);
    } finally {
      clearInterval(trickle);
    }
    expect(sent).toBeLessThan(body.length - 1);
    expect(await gw.countOnLog()).toBe(before);
  });

  it('answers 503 overloaded past maxInFlight, still answers /healthz and /readyz, and serves again once requests finish', async () => {
    held = new Promise<void>((resolve) => (release = resolve));
    const post = (id: string) => fetch(`${server.url}/v1/traces`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(traceBody({ trace_id: id })) });
    const inFlight = [post('held-1'), post('held-2')];
    // Both are in flight once both sends are waiting.
    const deadline = Date.now() + 10_000;
    while (waiting < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));

    const refused = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { ...JSON_HEADERS, 'x-request-id': 'over-1' }, body: JSON.stringify(traceBody()) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: { code: 'overloaded', message: expect.stringMatching(/answering 2 requests/), request_id: 'over-1' } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(gw.logger.lines.some((l) => l.obj.event === 'overloaded')).toBe(true);

    release();
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([202, 202]);
    expect((await post('after-1')).status).toBe(202);
  });

  it('refuses limits Node would refuse, naming them', () => {
    expect(() => resolveServerLimits({ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 })).toThrow(/headersTimeoutMs \(5000\) must not exceed requestTimeoutMs/);
    expect(() => resolveServerLimits({ maxInFlight: 0 })).toThrow(/maxInFlight must be a positive integer/);
  });
});
