/**
 * `POST /otlp/v1/traces` over the embedded log: both encodings, gzip, what is stored (decoded back
 * off the log), partial success, and every unhappy answer in the OTLP shape (google.rpc.Status in the
 * request's encoding, Retry-After on 429/503), with nothing written when the answer is not 200.
 */
import { gzipSync } from 'node:zlib';
import type { Trace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryRateLimiter, fixedOrgLimits } from '../src/index.js';
import { decodeExportResponse, decodeStatus } from '../src/otlp/proto.js';
import { KEYS, SETUP_TIMEOUT_MS } from './fixtures.js';
import { genAiChat, otlpJson, otlpProtobuf, START_MS, TRACE_ID } from './otlp-fixtures.js';
import { startTestGateway, type TestGateway } from './support.js';

const PATH = '/otlp/v1/traces';
const PROTOBUF = 'application/x-protobuf';

async function send(gw: TestGateway, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> {
  return gw.app.request(PATH, { method: 'POST', headers: { authorization: `Bearer ${KEYS.ingest}`, 'content-type': PROTOBUF, ...headers }, body });
}

async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

describe('OTLP/HTTP trace export', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await gw.close();
  });

  async function stored(id: string): Promise<Trace> {
    const all = await gw.readTraces(await gw.countOnLog());
    const found = all.filter((r) => r.trace.trace_id === id);
    expect(found, `records with trace_id ${id}`).toHaveLength(1);
    return found[0]!.trace;
  }

  it('stores a GenAI chat span from protobuf, skips the non-LLM parent, and hands its session and user down', async () => {
    const parent = { spanId: 'a1a1a1a1a1a1a1a1', name: 'POST /ask', attributes: { 'http.route': '/ask', 'session.id': 'sess-42', 'user.id': 'u-7' } };
    const chat = genAiChat('b2b2b2b2b2b2b2b2', { parentSpanId: 'a1a1a1a1a1a1a1a1', attributes: { 'gen_ai.system_instructions': JSON.stringify([{ type: 'text', content: 'Be brief.' }]) } });
    const before = gw.sends.length;
    const res = await send(gw, otlpProtobuf([parent, chat]));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(PROTOBUF);
    expect(decodeExportResponse(await bytesOf(res))).toEqual({});
    expect(res.headers.get('x-metronis-spans')).toBe('received=2; stored=1; skipped=1; rejected=0');
    expect(gw.sends.slice(before)).toEqual([1]);

    const trace = await stored(`otel-${TRACE_ID}-b2b2b2b2b2b2b2b2`);
    expect(trace).toMatchObject({
      org_id: 'org_acme',
      timestamp: START_MS,
      application: 'support-bot',
      environment: 'staging',
      model: { provider: 'openai', name: 'gpt-4o-mini-2024-07-18', parameters_json: JSON.stringify({ temperature: 0.2 }) },
      input: { text: null, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the capital of France?' }] },
      output: { content: 'Paris.', finish_reason: 'stop' },
      usage: { input_tokens: 12, output_tokens: 3, cost_usd: null },
      latency_ms: 420,
      session_id: 'sess-42',
      user_id: 'u-7',
      metadata: {
        'otel.trace_id': TRACE_ID,
        'otel.span_id': 'b2b2b2b2b2b2b2b2',
        'otel.parent_span_id': 'a1a1a1a1a1a1a1a1',
        'otel.span_name': 'chat gpt-4o-mini',
        'otel.scope': 'test-instrumentation@1.2.3',
      },
    });
  });

  it('accepts OTLP/JSON, gzipped, and answers in JSON', async () => {
    const span = {
      spanId: 'c3c3c3c3c3c3c3c3',
      name: 'ChatCompletion',
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-4o',
        'llm.provider': 'openai',
        'llm.input_messages.0.message.role': 'user',
        'llm.input_messages.0.message.content': 'Hi there',
        'llm.output_messages.0.message.role': 'assistant',
        'llm.output_messages.0.message.content': 'Hello!',
        'llm.token_count.prompt': 4,
        'llm.token_count.completion': 2,
      },
    };
    const res = await send(gw, gzipSync(JSON.stringify(otlpJson([span]))) as unknown as Uint8Array, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({});
    expect(await stored(`otel-${TRACE_ID}-c3c3c3c3c3c3c3c3`)).toMatchObject({
      model: { provider: 'openai', name: 'gpt-4o' },
      input: { messages: [{ role: 'user', content: 'Hi there' }] },
      output: { content: 'Hello!', finish_reason: null },
      usage: { input_tokens: 4, output_tokens: 2 },
    });
  });

  it('answers partial success naming each rejected LLM span, and stores the rest', async () => {
    const noContent = { spanId: 'd4d4d4d4d4d4d4d4', name: 'chat no-content', attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } };
    const tooLong = genAiChat('e5e5e5e5e5e5e5e5', { attributes: { 'gen_ai.conversation.id': 'x'.repeat(1_001) } });
    const good = genAiChat('f6f6f6f6f6f6f6f6');
    const before = await gw.countOnLog();
    const res = await send(gw, otlpProtobuf([noContent, tooLong, good]));
    expect(res.status).toBe(200);
    const answer = decodeExportResponse(await bytesOf(res));
    expect(answer.partialSuccess?.rejectedSpans).toBe('2');
    expect(answer.partialSuccess?.errorMessage).toContain('span d4d4d4d4d4d4d4d4 "chat no-content": an LLM span without prompt content');
    expect(answer.partialSuccess?.errorMessage).toContain('span e5e5e5e5e5e5e5e5');
    expect(answer.partialSuccess?.errorMessage).toContain('session_id');
    expect(await gw.countOnLog()).toBe(before + 1);
  });

  it('answers 200 with nothing written for a request of non-LLM spans only', async () => {
    const before = gw.sends.length;
    const res = await send(gw, otlpProtobuf([{ spanId: '1111111111111111', name: 'SELECT', attributes: { 'db.system': 'postgresql' } }]));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-metronis-spans')).toBe('received=1; stored=0; skipped=1; rejected=0');
    expect(gw.sends.length).toBe(before);
  });

  it('answers 400 with a protobuf google.rpc.Status for bytes that are not a request, and writes nothing', async () => {
    const before = await gw.countOnLog();
    const res = await send(gw, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROTOBUF);
    const status = decodeStatus(await bytesOf(res));
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/^invalid_body: malformed protobuf ExportTraceServiceRequest/);
    expect(await gw.countOnLog()).toBe(before);
  });

  it('answers 400 in JSON (Status fields and the gateway envelope) for malformed JSON and a JSON body of the wrong shape', async () => {
    for (const body of ['{"resourceSpans": [', '{"resourceSpans": 5}']) {
      const res = await send(gw, body, { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { code: number; message: string; error: { code: string; request_id: string } };
      expect(answer.code).toBe(3);
      expect(answer.message.split(':')[0]).toBe(answer.error.code);
      expect(['invalid_json', 'invalid_body']).toContain(answer.error.code);
      expect(answer.error.request_id).toBe(res.headers.get('x-request-id'));
    }
  });

  it('answers 400 for a body that is not gzip, 413 for one that inflates past the limit, 415 for other encodings and types', async () => {
    expect((await send(gw, otlpProtobuf([genAiChat('1212121212121212')]), { 'content-encoding': 'gzip' })).status).toBe(400);
    const small = await startTestGateway({ limits: { batchBytes: 10_000 }, store: gw.store });
    try {
      const bomb = gzipSync(Buffer.alloc(1_000_000));
      const res = await send(small, bomb as unknown as Uint8Array, { 'content-encoding': 'gzip' });
      expect(res.status).toBe(413);
      expect(decodeStatus(await bytesOf(res)).message).toMatch(/^body_too_large: the decompressed body/);
    } finally {
      await small.close();
    }
    expect((await send(gw, otlpProtobuf([genAiChat('1313131313131313')]), { 'content-encoding': 'br' })).status).toBe(415);
    const wrongType = await send(gw, 'hello', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });

  it('answers 401 with WWW-Authenticate and 403 without the ingest scope, in the OTLP shape', async () => {
    const missing = await gw.app.request(PATH, { method: 'POST', headers: { 'content-type': PROTOBUF }, body: otlpProtobuf([genAiChat('1414141414141414')]) });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(decodeStatus(await bytesOf(missing))).toMatchObject({ code: 16 });
    const readOnly = await send(gw, otlpProtobuf([genAiChat('1515151515151515')]), { authorization: `Bearer ${KEYS.readOnly}` });
    expect(readOnly.status).toBe(403);
    expect(decodeStatus(await bytesOf(readOnly)).message).toMatch(/^insufficient_scope/);
  });

  it('answers 503 with Retry-After when the log does not acknowledge, and 429 with Retry-After past the traces limit', async () => {
    const down = await startTestGateway({ store: gw.store, wrapProducer: (producer) => ({ send: async () => Promise.reject(new Error('broker down')), close: () => producer.close() }) });
    try {
      const res = await send(down, otlpProtobuf([genAiChat('1616161616161616')]));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(decodeStatus(await bytesOf(res))).toMatchObject({ code: 14 });
      expect(await down.countOnLog()).toBe(0);
    } finally {
      await down.close();
    }
    const limited = await startTestGateway({
      store: gw.store,
      rateLimiter: createMemoryRateLimiter(),
      rateLimits: fixedOrgLimits({ requests_per_second: 100, requests_burst: 100, traces_per_second: 1, traces_burst: 1 }),
    });
    try {
      const res = await send(limited, otlpProtobuf([genAiChat('1717171717171717'), genAiChat('1818181818181818')]));
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(decodeStatus(await bytesOf(res))).toMatchObject({ code: 8 });
      expect(await limited.countOnLog()).toBe(0);
    } finally {
      await limited.close();
    }
  });

  it('rejects a span whose attribute holds JSON nested past the stack, and stores its neighbour', async () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const hostile = genAiChat('1919191919191919', { attributes: { 'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hi' }, { type: 'data', deep: 0 }] }]).replace('0', deep) } });
    const res = await send(gw, otlpProtobuf([hostile, genAiChat('2020202020202020')]));
    expect(res.status).toBe(200);
    const answer = decodeExportResponse(await bytesOf(res));
    expect(answer.partialSuccess?.rejectedSpans).toBe('1');
    expect(answer.partialSuccess?.errorMessage).toContain('span 1919191919191919 "chat gpt-4o-mini": its attributes could not be read');
    await stored(`otel-${TRACE_ID}-2020202020202020`);
  });

  it('rejects a span whose trace is larger than the log takes, as a batch item would be, and stores the rest', async () => {
    const small = await startTestGateway({ limits: { recordBytes: 2_000 }, store: gw.store });
    try {
      const long = genAiChat('2121212121212121', { attributes: { 'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'x'.repeat(5_000) }] }]) } });
      const res = await send(small, otlpProtobuf([long, genAiChat('2222222222222222')]));
      expect(res.status).toBe(200);
      const answer = decodeExportResponse(await bytesOf(res));
      expect(answer.partialSuccess?.rejectedSpans).toBe('1');
      expect(answer.partialSuccess?.errorMessage).toMatch(/span 2121212121212121 .*more than the 2000 bytes a trace may take/);
      expect(await small.countOnLog()).toBe(1);
    } finally {
      await small.close();
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await gw.app.request('/openapi.json')).json()) as { paths: Record<string, { post?: { operationId?: string } }> };
    expect(doc.paths[PATH]?.post?.operationId).toBe('otlpExportTraces');
  });
});
