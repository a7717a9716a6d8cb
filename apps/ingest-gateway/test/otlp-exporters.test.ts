/**
 * Real OpenTelemetry exporters from npm against the gateway on a loopback socket: the Node SDK with
 * the OTLP protobuf exporter configured only through `OTEL_EXPORTER_OTLP_ENDPOINT` and
 * `OTEL_EXPORTER_OTLP_HEADERS`, and the OTLP/JSON exporter under OpenInference's OpenAI
 * instrumentation, and the protobuf exporter under OpenLLMetry's (Traceloop) OpenAI instrumentation. Each instruments a real `openai` client calling a local OpenAI-compatible server;
 * the traces are decoded back off the log.
 */
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { OpenAIInstrumentation as OpenLLMetryInstrumentation } from '@traceloop/instrumentation-openai';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import type { Trace } from '@metronis/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/index.js';
import { KEYS, SETUP_TIMEOUT_MS } from './fixtures.js';
import { startOpenAiServer, type OpenAiTestServer } from './openai-server.js';
import { startTestGateway, type TestGateway } from './support.js';

describe('real OTLP exporters', () => {
  let gw: TestGateway;
  let server: RunningGateway;
  let llm: OpenAiTestServer;

  beforeAll(async () => {
    gw = await startTestGateway();
    server = await startGateway({ app: gw.app, port: 0, host: '127.0.0.1', logger: gw.logger });
    llm = await startOpenAiServer('Paris.');
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await llm?.close();
    await server?.close();
    await gw?.close();
  });

  async function storedFor(spanId: string): Promise<Trace> {
    const all = await gw.readTraces(await gw.countOnLog());
    const found = all.filter((r) => r.trace.metadata['otel.span_id'] === spanId);
    expect(found, `traces of span ${spanId}`).toHaveLength(1);
    return found[0]!.trace;
  }

  it('the protobuf exporter set up only by OTEL_EXPORTER_OTLP_* sends a GenAI span around an OpenAI call', async () => {
    const saved = { endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, headers: process.env.OTEL_EXPORTER_OTLP_HEADERS };
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `${server.url}/otlp`;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `Authorization=Bearer ${KEYS.ingest}`;
    let exporter: OTLPProtoExporter;
    try {
      exporter = new OTLPProtoExporter();
    } finally {
      if (saved.endpoint === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved.endpoint;
      if (saved.headers === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      else process.env.OTEL_EXPORTER_OTLP_HEADERS = saved.headers;
    }
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'node-app' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('metronis-test');
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL });
    const messages = [{ role: 'user' as const, content: 'What is the capital of France?' }];

    let spanId = '';
    await tracer.startActiveSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' } }, async (span) => {
      spanId = span.spanContext().spanId;
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
      span.setAttributes({
        'gen_ai.input.messages': JSON.stringify(messages.map((m) => ({ role: m.role, parts: [{ type: 'text', content: m.content }] }))),
        'gen_ai.output.messages': JSON.stringify(completion.choices.map((c) => ({ role: 'assistant', parts: [{ type: 'text', content: c.message.content }], finish_reason: c.finish_reason }))),
        'gen_ai.response.model': completion.model,
        'gen_ai.usage.input_tokens': completion.usage!.prompt_tokens,
        'gen_ai.usage.output_tokens': completion.usage!.completion_tokens,
        'gen_ai.conversation.id': 'conv-1',
      });
      span.setStatus({ code: SpanStatusCode.OK });
      span.end();
    });
    await provider.forceFlush();
    await provider.shutdown();

    const trace = await storedFor(spanId);
    expect(trace).toMatchObject({
      application: 'node-app',
      model: { provider: 'openai', name: 'gpt-4o-mini' },
      input: { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
      output: { content: 'Paris.', finish_reason: 'stop' },
      usage: { input_tokens: 14, output_tokens: 2 },
      session_id: 'conv-1',
    });
    expect(trace.trace_id).toBe(`otel-${trace.metadata['otel.trace_id']}-${spanId}`);
    expect(trace.latency_ms).toBeGreaterThan(0);
  });

  it("OpenInference's OpenAI instrumentation through the OTLP/JSON exporter, plain and streaming", async () => {
    const exporter = new OTLPHttpJsonExporter({ url: `${server.url}/otlp/v1/traces`, headers: { Authorization: `Bearer ${KEYS.ingest}` } });
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'openinference-app' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const instrumentation = new OpenAIInstrumentation({ tracerProvider: provider });
    instrumentation.manuallyInstrument(OpenAI);
    try {
      const client = new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL });
      const before = await gw.countOnLog();
      await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'Capital of France?' }] });
      const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'And of Italy?' }] });
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
      expect(streamed).toBe('Paris.');
      await provider.forceFlush();
      const all = (await gw.readTraces(before + 2)).map((r) => r.trace).filter((t) => t.application === 'openinference-app');
      expect(all).toHaveLength(2);
      const plain = all.find((t) => t.input.messages.some((m) => m.content === 'Capital of France?'));
      expect(plain).toMatchObject({
        model: { name: 'gpt-4o' },
        input: { messages: [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'Capital of France?' }] },
        output: { content: 'Paris.' },
        usage: { input_tokens: 14, output_tokens: 2 },
      });
      const streamedTrace = all.find((t) => t !== plain);
      expect(streamedTrace).toMatchObject({ input: { messages: [{ role: 'user', content: 'And of Italy?' }] }, output: { content: 'Paris.' } });
    } finally {
      instrumentation.disable();
      await provider.shutdown();
    }
  });

  it("OpenLLMetry's OpenAI instrumentation through the protobuf exporter", async () => {
    const exporter = new OTLPProtoExporter({ url: `${server.url}/otlp/v1/traces`, headers: { Authorization: `Bearer ${KEYS.ingest}` } });
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'openllmetry-app' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const instrumentation = new OpenLLMetryInstrumentation({ traceContent: true });
    instrumentation.setTracerProvider(provider);
    instrumentation.manuallyInstrument(OpenAI);
    try {
      const client = new OpenAI({ apiKey: 'sk-test', baseURL: llm.baseURL });
      const before = await gw.countOnLog();
      await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Capital of France, says OpenLLMetry?' }] });
      await provider.forceFlush();
      const traces = (await gw.readTraces(before + 1)).map((r) => r.trace).filter((t) => t.application === 'openllmetry-app');
      expect(traces).toHaveLength(1);
      expect(traces[0]).toMatchObject({
        model: { provider: 'openai' },
        input: { messages: [{ role: 'user', content: 'Capital of France, says OpenLLMetry?' }] },
        output: { content: 'Paris.' },
        usage: { input_tokens: 14, output_tokens: 2 },
      });
    } finally {
      instrumentation.disable();
      await provider.shutdown();
    }
  });
});
