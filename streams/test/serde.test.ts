import { avroSchema, makeTrace, type Alert, type Escalation, type SchemaName, type TierResult, type Verdict } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import {
  createInProcessRegistry,
  createSerde,
  frame,
  RegistryUnavailableError,
  SerdeError,
  subjectFor,
  TOPICS,
  type SchemaRegistry,
  type TopicDef,
} from '../src/index.js';

const trace = makeTrace({ context: [{ id: 'd1', content: 'Paris.', source: 'wiki', score: 0.5 }], metadata: { team: 'search' }, tags: ['x'] });
const tierResult: TierResult = {
  evaluation_id: `${trace.trace_id}:1`,
  trace_id: trace.trace_id,
  org_id: trace.org_id,
  tier: 1,
  evaluated_at: 1_700_000_000_000,
  trace_timestamp: trace.timestamp,
  passed: false,
  severity: 'high',
  score: 0.25,
  modules: [
    { module: 'pii', version: '1.0.0', passed: false, score: 0, severity: 'high', labels: ['email'], findings: [{ kind: 'email', message: 'an email', field: 'output', start: 3, end: 12, confidence: 0.9 }], latency_us: 10, rationale: null },
  ],
  latency_us: 30,
  application: 'app',
  environment: null,
  model_provider: 'openai',
  model_name: null,
  tags: ['x'],
};
const escalation: Escalation = { trace, results: [tierResult], target_tier: 2, reason: 'uncertain band' };
const verdict: Verdict = {
  trace_id: trace.trace_id,
  org_id: trace.org_id,
  tier: 1,
  decided_at: 1_700_000_000_001,
  passed: false,
  severity: 'high',
  score: 0.25,
  finding_kinds: ['email'],
  failed_modules: ['pii'],
  application: 'app',
  environment: null,
  model_provider: null,
  model_name: 'gpt-4o-mini',
  tags: [],
  labels: [],
};
const alert: Alert = {
  alert_id: 'alert-1',
  org_id: trace.org_id,
  rule_id: 'rule-1',
  rule_version: 2,
  kind: 'per_event',
  status: 'firing',
  severity: 'critical',
  fingerprint: 'f1',
  labels: { application: 'app' },
  annotations: { summary: 'a key leaked' },
  starts_at: 1_700_000_000_002,
  ends_at: 0,
  trace_id: trace.trace_id,
  value: null,
  threshold: null,
  volume: 3,
  generated_at: 1_700_000_000_003,
};
const samples = {
  [TOPICS.traces.name]: trace,
  [TOPICS.evaluations.name]: tierResult,
  [TOPICS.escalationsTier2.name]: escalation,
  [TOPICS.escalationsTier3.name]: { ...escalation, target_tier: 3 },
  [TOPICS.verdicts.name]: verdict,
  [TOPICS.alerts.name]: alert,
};

/** A plain-object copy, so comparisons ignore avsc's record classes. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** The Trace schema with its `pii_masked` field removed (as an older producer had it) or with an extra field (a newer producer). */
function traceSchema(change: 'older' | 'newer'): object {
  const schema = structuredClone(avroSchema('Trace')) as { fields: { name: string }[] };
  if (change === 'older') schema.fields = schema.fields.filter((f) => f.name !== 'pii_masked');
  else schema.fields.push({ name: 'region', type: 'string', default: 'eu' } as { name: string });
  return schema;
}

describe('Avro serde (Confluent wire format)', () => {
  it.each(Object.values(TOPICS).map((t) => [t.name, t] as const))('round-trips a %s value', async (_name, topic) => {
    const serde = createSerde(createInProcessRegistry());
    const topicSerde = await serde.forTopic(topic as TopicDef<SchemaName>);
    const value = samples[topic.name];
    const bytes = topicSerde.encode(value as never);
    expect(bytes[0]).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(topicSerde.schemaId);
    expect(plain(await topicSerde.decode(bytes))).toEqual(plain(value));
  });

  it('registers each topic once under <topic>-value, and encodes with that id', async () => {
    const registry = createInProcessRegistry();
    let registrations = 0;
    const counting: SchemaRegistry = { ...registry, register: (subject, schema) => (registrations++, registry.register(subject, schema)) };
    const serde = createSerde(counting);
    const [a, b] = await Promise.all([serde.forTopic(TOPICS.traces), serde.forTopic(TOPICS.traces)]);
    expect(a).toBe(b);
    await serde.forTopic(TOPICS.traces);
    expect(registrations).toBe(1);
    expect(a.schemaId).toBe(await registry.register(subjectFor(TOPICS.traces.name), avroSchema('Trace')));
  });

  it('reads values written with an older schema, filling defaults', async () => {
    const registry = createInProcessRegistry();
    const older = await createSerde(registry, { schemaOf: () => traceSchema('older') }).forTopic(TOPICS.traces);
    const current = await createSerde(registry).forTopic(TOPICS.traces);
    expect(older.schemaId).not.toBe(current.schemaId);
    const { pii_masked: _dropped, ...oldTrace } = { ...trace, pii_masked: true };
    const decoded = await current.decode(older.encode(oldTrace as never));
    expect(plain(decoded)).toEqual(plain({ ...trace, pii_masked: false }));
  });

  it('reads values written with a newer schema, skipping the fields it does not know', async () => {
    const registry = createInProcessRegistry();
    const current = await createSerde(registry).forTopic(TOPICS.traces);
    const newer = await createSerde(registry, { schemaOf: () => traceSchema('newer') }).forTopic(TOPICS.traces);
    const decoded = await current.decode(newer.encode({ ...trace, region: 'us' } as never));
    expect(plain(decoded)).toEqual(plain(trace));
  });

  it('fetches a writer schema once per id', async () => {
    const registry = createInProcessRegistry();
    let lookups = 0;
    const counting: SchemaRegistry = { ...registry, getSchema: (id) => (lookups++, registry.getSchema(id)) };
    const older = await createSerde(registry, { schemaOf: () => traceSchema('older') }).forTopic(TOPICS.traces);
    const current = await createSerde(counting).forTopic(TOPICS.traces);
    const { pii_masked: _dropped, ...oldTrace } = trace;
    for (let i = 0; i < 5; i++) await current.decode(older.encode(oldTrace as never));
    for (let i = 0; i < 5; i++) await current.decode(current.encode(trace));
    expect(lookups).toBe(1);
  });

  describe('errors', () => {
    async function traces() {
      return createSerde(createInProcessRegistry()).forTopic(TOPICS.traces);
    }

    it('null value', async () => {
      await expect((await traces()).decode(null)).rejects.toThrow(new SerdeError('record has no value (null), expected Confluent wire-format Avro'));
    });

    it('short buffer', async () => {
      await expect((await traces()).decode(Buffer.from([0, 0, 1]))).rejects.toThrow(/3 bytes, shorter than the 5-byte/);
    });

    it('bad magic byte', async () => {
      const t = await traces();
      const bytes = t.encode(trace);
      bytes[0] = 1;
      const attempt = t.decode(bytes);
      await expect(attempt).rejects.toBeInstanceOf(SerdeError);
      await expect(attempt).rejects.toThrow(/starts with byte 1, expected the Confluent magic byte 0/);
    });

    it('JSON instead of Avro', async () => {
      await expect((await traces()).decode(Buffer.from(JSON.stringify(trace)))).rejects.toThrow(/expected the Confluent magic byte 0/);
    });

    it('unknown schema id', async () => {
      const t = await traces();
      const attempt = t.decode(frame(999, Buffer.from([1, 2, 3])));
      await expect(attempt).rejects.toBeInstanceOf(SerdeError);
      await expect(attempt).rejects.toThrow(/schema id 999 is not registered/);
    });

    it('truncated Avro body', async () => {
      const t = await traces();
      const bytes = t.encode(trace);
      const attempt = t.decode(bytes.subarray(0, bytes.length - 10));
      await expect(attempt).rejects.toBeInstanceOf(SerdeError);
      await expect(attempt).rejects.toThrow(/metronis.traces.v1: value with schema id \d+ is not valid Avro/);
    });

    it('trailing garbage after the Avro body', async () => {
      const t = await traces();
      await expect(t.decode(Buffer.concat([t.encode(trace), Buffer.from([7, 7, 7])]))).rejects.toBeInstanceOf(SerdeError);
    });

    it('a writer schema the reader cannot resolve', async () => {
      const registry = createInProcessRegistry();
      const current = await createSerde(registry).forTopic(TOPICS.traces);
      const otherId = await registry.register('elsewhere-value', { type: 'record', name: 'Trace', namespace: 'io.metronis.v1', fields: [{ name: 'x', type: 'int' }] });
      const attempt = current.decode(frame(otherId, Buffer.from([2])));
      await expect(attempt).rejects.toBeInstanceOf(SerdeError);
      await expect(attempt).rejects.toThrow(new RegExp(`schema id ${otherId} cannot be read as Trace`));
    });

    it('encoding a value that does not fit the schema says where', async () => {
      const t = await traces();
      expect(() => t.encode({ ...trace, received_at: 'yesterday' } as never)).toThrow(SerdeError);
      expect(() => t.encode({ ...trace, received_at: 'yesterday' } as never)).toThrow(/not a valid Trace \(invalid at received_at\)/);
    });

    it('registry down: RegistryUnavailableError on first use and on an unseen writer id, then recovers', async () => {
      const real = createInProcessRegistry();
      let down = true;
      const flaky: SchemaRegistry = {
        register: (subject, schema) => (down ? Promise.reject(new RegistryUnavailableError('registry down')) : real.register(subject, schema)),
        getSchema: (id) => (down ? Promise.reject(new RegistryUnavailableError('registry down')) : real.getSchema(id)),
        ping: () => real.ping(),
      };
      const serde = createSerde(flaky);
      await expect(serde.forTopic(TOPICS.traces)).rejects.toBeInstanceOf(RegistryUnavailableError);
      down = false;
      const current = await serde.forTopic(TOPICS.traces);
      const older = await createSerde(real, { schemaOf: () => traceSchema('older') }).forTopic(TOPICS.traces);
      down = true;
      const { pii_masked: _dropped, ...oldTrace } = trace;
      const bytes = older.encode(oldTrace as never);
      await expect(current.decode(bytes)).rejects.toBeInstanceOf(RegistryUnavailableError);
      // Values of the topic's own schema need no registry call.
      expect(plain(await current.decode(current.encode(trace)))).toEqual(plain(trace));
      down = false;
      expect((await current.decode(bytes)).trace_id).toBe(trace.trace_id);
    });

    it('the same topic name with another schema is a programming error', async () => {
      const serde = createSerde(createInProcessRegistry());
      await serde.forTopic(TOPICS.traces);
      await expect(serde.forTopic({ ...TOPICS.verdicts, name: TOPICS.traces.name })).rejects.toThrow(/already used with schema Trace, not Verdict/);
    });
  });
});
