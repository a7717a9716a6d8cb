/**
 * The gateway behind a real listening socket (@hono/node-server): the body is read from the Node
 * request stream, so limits are enforced while streaming, before the whole upload has arrived.
 */
import { once } from 'node:events';
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/index.js';
import { KEYS, ORG, SETUP_TIMEOUT_MS, traceBody } from './fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Body bytes the client had written when the answer arrived. */
  written: number;
}

const JSON_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${KEYS.ingest}` };

/**
 * Streams `chunk` again and again (chunked transfer, or under a declared Content-Length) until the
 * server answers or `maxBytes` have been written, then reads the answer.
 */
async function streamUntilAnswered(url: string, path: string, headers: Record<string, string>, chunk: Buffer, maxBytes: number): Promise<Answer> {
  const req = request(new URL(path, url), { method: 'POST', headers });
  let answered = false;
  req.on('error', () => undefined); // the server may close the connection after answering
  const answer = new Promise<Omit<Answer, 'written'>>((resolve, reject) => {
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
  });
  let written = 0;
  while (!answered && written < maxBytes) {
    const flushed = req.write(chunk);
    written += chunk.length;
    if (!flushed) await Promise.race([once(req, 'drain'), answer]);
    else await yieldToLoop();
  }
  const result = await answer;
  req.destroy();
  return { ...result, written };
}

async function postOnce(url: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  const bytes = Buffer.from(body);
  return streamUntilAnswered(url, path, { ...headers, 'content-length': String(bytes.length) }, bytes, bytes.length);
}

describe('the gateway on a listening server', () => {
  let gw: TestGateway;
  let server: RunningGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    server = await startGateway({ app: gw.app, port: 0, logger: gw.logger });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await server.close();
    await gw.close();
  });

  it('serves on 127.0.0.1 and answers a trace 202 once it is on the log', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(traceBody({ trace_id: 'wire-1' })) });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toEqual({ trace_id: 'wire-1' });
    const records = await gw.readTraces(await gw.countOnLog());
    expect(records.find((r) => r.trace.trace_id === 'wire-1')?.trace.org_id).toBe(ORG);
  });

  it('reads a chunked body (no Content-Length) to its end', async () => {
    const body = Buffer.from(JSON.stringify({ traces: [traceBody({ trace_id: 'wire-2' }), traceBody({ trace_id: 'wire-3' })] }));
    const req = request(new URL('/v1/traces/batch', server.url), { method: 'POST', headers: JSON_HEADERS });
    const response = once(req, 'response');
    for (let i = 0; i < body.length; i += 100) req.write(body.subarray(i, i + 100));
    req.end();
    const [res] = (await response) as [IncomingMessage];
    const parts: Buffer[] = [];
    for await (const part of res) parts.push(part as Buffer);
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(Buffer.concat(parts).toString()).accepted).toEqual([
      { index: 0, trace_id: 'wire-2' },
      { index: 1, trace_id: 'wire-3' },
    ]);
  });

  it('answers 413 from a declared Content-Length over the limit without waiting for the body', async () => {
    // 16 KiB of the announced 50 MiB are sent, far under the limit: only the header can trigger the 413.
    const answer = await streamUntilAnswered(server.url, '/v1/traces', { ...JSON_HEADERS, 'content-length': String(50 * 1024 * 1024) }, Buffer.alloc(16 * 1024, 0x20), 16 * 1024);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('body_too_large');
    expect(answer.written).toBe(16 * 1024);
  });

  it('answers 413 while a chunked single trace is still streaming past 1 MiB', async () => {
    const before = await gw.countOnLog();
    const answer = await streamUntilAnswered(server.url, '/v1/traces', JSON_HEADERS, Buffer.alloc(64 * 1024, 0x20), 100 * 1024 * 1024);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 'body_too_large', message: expect.stringMatching(/1048576 bytes/) });
    expect(answer.written).toBeLessThan(100 * 1024 * 1024);
    expect(await gw.countOnLog()).toBe(before);
  });

  it('answers 413 while a chunked batch is still streaming past 10 MiB', async () => {
    const answer = await streamUntilAnswered(server.url, '/v1/traces/batch', JSON_HEADERS, Buffer.alloc(256 * 1024, 0x20), 200 * 1024 * 1024);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 'body_too_large', message: expect.stringMatching(/10485760 bytes/) });
    expect(answer.written).toBeLessThan(200 * 1024 * 1024);
  });

  it('answers 400 for malformed JSON and 415 for other content types over the wire too', async () => {
    const malformed = await postOnce(server.url, '/v1/traces', JSON_HEADERS, '{"input": ');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body).error.code).toBe('invalid_json');
    const text = await postOnce(server.url, '/v1/traces', { ...JSON_HEADERS, 'content-type': 'text/plain' }, 'hello');
    expect(text.status).toBe(415);
  });

  it('logs a request whose client went away mid-body as 400 incomplete_body, and keeps serving', async () => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    // Headers promise 100,000 bytes; the client sends a few and hangs up (FIN after the data).
    socket.end(
      `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEYS.ingest}\r\n` +
        'X-Request-Id: gone-1\r\nContent-Length: 100000\r\n\r\n{"input": "',
    );
    socket.resume();
    const deadline = Date.now() + 10_000;
    while (!gw.logger.lines.some((l) => l.obj.request_id === 'gone-1') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const line = gw.logger.lines.find((l) => l.obj.request_id === 'gone-1');
    expect(line?.obj.status).toBe(400);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('startGateway rejects with the address when the port is taken, and close() frees the port', async () => {
    const first = await startGateway({ app: gw.app, port: 0, logger: gw.logger });
    const port = Number(new URL(first.url).port);
    await expect(startGateway({ app: gw.app, port, logger: gw.logger })).rejects.toThrow(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    await first.close();
    const again = await startGateway({ app: gw.app, port, logger: gw.logger });
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
    await again.close();
  });
});
