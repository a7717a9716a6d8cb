/**
 * @metronis/sdk against a real Metronis (`metronis dev` from the build): traces sent and read back
 * with verdicts, observe() and context ids, the OpenAI wrapper around the real `openai` client and a
 * local OpenAI-compatible server, and the unhappy paths: server down at start, 503/429 bursts with
 * Retry-After, 401 never retried, rejected and oversize items, a full queue, strict mode, search.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAiServer, type OpenAiTestServer } from '../../../apps/ingest-gateway/test/openai-server.js';
import { currentObservation, Metronis, MetronisError, NotAvailableError, observation, observe, retryAfterMs, withContext, wrapOpenAI } from '../src/index.js';
import { API_KEY, freePort, startForwarder, startMetronis, type Forwarder, type RunningMetronis } from './servers.js';

const FAST = { maxRetries: 5, initialBackoffMs: 20, maxBackoffMs: 100 };
const quiet = { onError: () => undefined };

describe('@metronis/sdk against metronis dev', () => {
  let metronis: RunningMetronis;
  let llm: OpenAiTestServer;
  const forwarders: Forwarder[] = [];

  beforeAll(async () => {
    [metronis, llm] = await Promise.all([startMetronis(), startOpenAiServer('Paris.')]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(forwarders.map((f) => f.close()));
    await llm?.close();
    await metronis?.close();
  });

  const forwarder = async (port?: number) => {
    const f = await startForwarder(metronis.url, port);
    forwarders.push(f);
    return f;
  };

  it('sends a trace in a batch and reads it back with its verdict', async () => {
    const client = new Metronis({ apiKey: API_KEY, baseUrl: metronis.url, application: 'ts-tests' });
    const id = client.trace([{ role: 'user', content: 'What is the capital of France?' }], { content: 'Paris.', finish_reason: 'stop' }, {
      model: 'gpt-4o-mini',
      provider: 'openai',
      usage: { input_tokens: 9, output_tokens: 2 },
      latencyMs: 321,
      metadata: { team: 'search', attempt: 2 },
      tags: ['smoke'],
    });
    expect(await client.flush()).toBe(true);
    expect(client.stats).toMatchObject({ sent: 1, failed: 0, queued: 0 });
    const view = await metronis.waitForTrace(id, { verdict: true });
    expect(view.trace).toMatchObject({
      application: 'ts-tests',
      input: { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
      output: { content: 'Paris.', finish_reason: 'stop' },
      model: { provider: 'openai', name: 'gpt-4o-mini' },
      metadata: { team: 'search', attempt: '2' },
    });
    expect(typeof view.verdict?.passed).toBe('boolean');
    expect((await client.getTrace(id))?.trace.trace_id).toBe(id);
    expect(await client.getTrace('no-such-trace')).toBeUndefined();
    await client.shutdown();
  });

  it('observe() and observation() record calls with the context ids', async () => {
    const client = new Metronis({ apiKey: API_KEY, baseUrl: metronis.url });
    const answer = observe('answer', async (question: string) => {
      currentObservation()?.update({ model: 'gpt-4o', usage: { input_tokens: 5, output_tokens: 1 } });
      await new Promise((r) => setTimeout(r, 5));
      return `Four (${question.length})`;
    });
    const broken = observe('broken', () => {
      throw new TypeError('boom');
    });
    let blockId: string | undefined;
    await withContext({ sessionId: 'sess-ts', userId: 'user-ts', tags: ['ctx'] }, async () => {
      expect(await answer('What is 2+2?')).toBe('Four (12)');
      expect(() => broken()).toThrow(TypeError);
      await observation('block', async (obs) => {
        obs.input = 'hello';
        obs.output = 'world';
      });
      blockId = await observation('ids', (obs) => obs.traceId);
    });
    await client.flush();
    expect(client.stats.sent).toBe(4);
    expect(blockId).toBeUndefined(); // the id exists only once the block has ended
    await client.shutdown();
  });

  it('wrapOpenAI records plain and streaming chat completions of the real openai client', async () => {
    const client = new Metronis({ apiKey: API_KEY, baseUrl: metronis.url });
    const ids: string[] = [];
    const record = client.record.bind(client);
    client.record = (body) => {
      ids.push(body.trace_id);
      return record(body);
    };
    const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL }), { metronis: client, tags: ['wrapped'] });
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Capital of France?' }];
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0.1 });
    expect(completion.choices[0]?.message.content).toBe('Paris.');
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(response.status).toBe(200);
    expect(data.choices[0]?.message.content).toBe('Paris.');
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe('Paris.');
    await client.flush();
    expect(ids).toHaveLength(3);
    const [plain, , fromStream] = await Promise.all(ids.map((id) => metronis.waitForTrace(id)));
    expect(plain!.trace).toMatchObject({
      input: { messages },
      output: { content: 'Paris.', finish_reason: 'stop' },
      model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.1 } },
      usage: { input_tokens: 14, output_tokens: 2 },
      tags: ['wrapped'],
    });
    expect(fromStream!.trace).toMatchObject({ output: { content: 'Paris.', finish_reason: 'stop' }, usage: { output_tokens: 2 }, metadata: { stream: 'true' } });

    const down = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${await freePort()}/v1`, maxRetries: 0 }), { metronis: client });
    await expect(down.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toThrow();
    await client.flush();
    const failed = await metronis.waitForTrace(ids[3]!);
    expect(failed.trace.output).toEqual({ content: '', finish_reason: 'error' });
    await client.shutdown();
  });

  it('keeps traces while the server is down at start and sends them once it is up', async () => {
    const port = await freePort();
    const client = new Metronis({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${port}`, retry: { maxRetries: 40, initialBackoffMs: 20, maxBackoffMs: 150 }, flushIntervalMs: 20, ...quiet });
    const ids = [0, 1, 2].map((i) => client.trace(`down ${i}`, 'ok'));
    await new Promise((r) => setTimeout(r, 300));
    expect(client.stats.sent).toBe(0);
    await forwarder(port);
    await client.flush();
    expect(client.stats).toMatchObject({ sent: 3, failed: 0 });
    for (const id of ids) await metronis.waitForTrace(id);
    await client.shutdown();
  });

  it('retries a 503/429 burst after what Retry-After says', async () => {
    const proxy = await forwarder();
    proxy.refuse.push({ status: 503, headers: { 'retry-after': '1' } }, { status: 429, headers: { 'retry-after': '1' } });
    const client = new Metronis({ apiKey: API_KEY, baseUrl: proxy.url, retry: FAST, ...quiet });
    const id = client.trace('burst', 'ok');
    await client.flush();
    expect(client.stats).toMatchObject({ sent: 1, failed: 0 });
    expect(proxy.requests.map((r) => r.status)).toEqual([503, 429, 202]);
    const gaps = proxy.requests.slice(1).map((r, i) => r.at - proxy.requests[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900); // not the 20 ms backoff
    await metronis.waitForTrace(id);
    await client.shutdown();
  });

  it('never retries a 401, and strict mode rejects flush() with it', async () => {
    const proxy = await forwarder();
    const errors: MetronisError[] = [];
    const client = new Metronis({ apiKey: 'mtr_wrong_key_0123456789abcdef', baseUrl: proxy.url, retry: FAST, onError: (e) => errors.push(e) });
    client.trace('x', 'y');
    client.trace('x', 'y');
    await client.flush();
    expect(client.stats).toMatchObject({ failed: 2, sent: 0 });
    expect(proxy.requests.map((r) => r.status)).toEqual([401]);
    expect(errors[0]).toMatchObject({ status: 401, code: 'invalid_api_key' });
    await client.shutdown();

    const strict = new Metronis({ apiKey: 'mtr_wrong_key_0123456789abcdef', baseUrl: proxy.url, retry: FAST, strict: true });
    strict.trace('x', 'y');
    await expect(strict.flush()).rejects.toMatchObject({ status: 401 });
    await strict.shutdown();
  });

  it('counts items the gateway rejects, drops oversize items, and drops the newest when the queue is full', async () => {
    const client = new Metronis({ apiKey: API_KEY, baseUrl: metronis.url, ...quiet });
    const good = client.trace('fine', 'ok');
    client.trace('bad', 'ok', { tags: [''] }); // the gateway refuses an empty tag, for this item only
    client.trace('huge', 'x'.repeat(2_000_000)); // over 1 MiB: dropped before sending
    await client.flush();
    expect(client.stats).toMatchObject({ sent: 1, rejected: 1, droppedOversize: 1, dropped: 0, queued: 0 });
    await metronis.waitForTrace(good);
    await client.shutdown();

    // Nothing listens: the first batch (2, the queue's size) is in flight, retrying; 2 more wait; the 5th is dropped.
    const full = new Metronis({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${await freePort()}`, maxQueueSize: 2, retry: { maxRetries: 100, initialBackoffMs: 50, maxBackoffMs: 50 }, ...quiet });
    for (let i = 0; i < 5; i++) full.trace(`q${i}`, 'ok');
    expect(full.stats).toMatchObject({ dropped: 1, queued: 2 });
    expect(full.dropped).toBe(1);
    await full.shutdown(300);
    expect(full.stats.sent).toBe(0);

    const strict = new Metronis({ apiKey: API_KEY, baseUrl: metronis.url, strict: true });
    expect(() => strict.trace('huge', 'x'.repeat(2_000_000))).toThrow(/over the limit/);
    await strict.shutdown();
  });

  it('never throws without a key; strict does', () => {
    const saved = process.env.METRONIS_API_KEY;
    delete process.env.METRONIS_API_KEY;
    try {
      const client = new Metronis(quiet);
      expect(client.enabled).toBe(false);
      expect(client.trace('a', 'b')).toMatch(/^[0-9a-f]{32}$/);
      expect(() => new Metronis({ strict: true })).toThrow(MetronisError);
    } finally {
      if (saved !== undefined) process.env.METRONIS_API_KEY = saved;
    }
  });

  it('reads METRONIS_API_KEY and METRONIS_BASE_URL, and works with any fetch (edge runtimes)', async () => {
    process.env.METRONIS_API_KEY = API_KEY;
    process.env.METRONIS_BASE_URL = metronis.url;
    let calls = 0;
    try {
      const client = new Metronis({ fetch: (input, init) => (calls++, fetch(input, init)) });
      const id = client.trace('env', 'ok');
      await client.flush();
      await metronis.waitForTrace(id);
      expect(calls).toBe(1);
      await client.shutdown();
    } finally {
      delete process.env.METRONIS_API_KEY;
      delete process.env.METRONIS_BASE_URL;
    }
  });

  it('search uses GET /v1/traces when the server has it, and says clearly when it does not', async () => {
    const client = new Metronis({ apiKey: API_KEY, baseUrl: metronis.url });
    const session = `search-${Date.now()}`;
    const ids = [0, 1, 2].map((i) => client.trace(`s${i}`, 'ok', { sessionId: session }));
    await client.flush();
    for (const id of ids) await metronis.waitForTrace(id);
    const document = (await (await metronis.get('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    if (document.paths['/v1/traces']?.get !== undefined) {
      const page = await client.search({ session_id: session, limit: 2 });
      expect(page.items).toHaveLength(2);
      const all: string[] = [];
      for await (const item of client.iterSearch({ session_id: session, limit: 2 })) all.push(String(item.trace_id ?? (item.trace as { trace_id: string }).trace_id));
      expect(all.sort()).toEqual([...ids].sort());
    } else {
      await expect(client.search({ session_id: session })).rejects.toBeInstanceOf(NotAvailableError);
      await expect(client.search({ session_id: session })).rejects.toThrow(/GET \/v1\/traces/);
    }
    await client.shutdown();
  });

  it('sends what is queued when a Node process ends on its own (the built package, no flush in the app)', async () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const prefix = `exit-${Date.now()}`;
    const script = `import { Metronis } from ${JSON.stringify(dist)};
      const metronis = new Metronis({ flushIntervalMs: 60000 });
      for (let i = 0; i < 5; i++) metronis.trace('exit ' + i, 'ok', { traceId: '${prefix}-' + i });`;
    const done = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, METRONIS_API_KEY: API_KEY, METRONIS_BASE_URL: metronis.url }, encoding: 'utf8', timeout: 60_000 });
    expect(done.status, done.stderr).toBe(0);
    for (let i = 0; i < 5; i++) await metronis.waitForTrace(`${prefix}-${i}`);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:50 GMT'))).toBe(10_000);
  });
});
