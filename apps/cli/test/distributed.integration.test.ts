/**
 * Distributed mode end to end on the real services, one deployment for every concern: `metronis
 * migrate`, `gateway`, `console` and `worker --topology tier1|tier2|tier3|sinks|alerts` as separate
 * processes from the build (support/deployment.ts), against Kafka, the schema registry and PostgreSQL
 * (a throwaway database), with the facts on chDB (Debian's ClickHouse is too old for the facts schema;
 * its HTTP transport is tested in stores/). The processes start once for the file rather than once per
 * concern; each concern but the backbone works in an organization of its own, so its policy, judge and
 * alert rules touch no other.
 *
 * In order: the backbone (a trace readable after its 202, Tier 1's verdict, a partial batch, a
 * duplicate trace id, an Avro trace produced straight to Kafka by another client, a poison record sent
 * to the DLQ); tier 2 (distributed/tier2.ts); tier 3 (distributed/tier3.ts); alerts, with kill -9 and a
 * restart of the alerts worker (distributed/alerts.ts); and last the broker stopped mid-load, which
 * restarts Kafka under every process.
 *
 * Reads KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL from the environment (`scripts/stack.sh
 * env`) and stops and starts Kafka with `scripts/stack.sh`: the processes use the product's topic names
 * and consumer groups, so run it alone on a stack (`npm test` runs integration files one at a time),
 * or on a stack of its own (`METRONIS_STACK_DIR` and the `METRONIS_*_PORT` variables of stack.sh).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { makeTrace } from '@metronis/schemas';
import { generateSecretsKey } from '@metronis/stores';
import { DLQ_HEADERS, DLQ_TOPIC } from '@metronis/streams';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsOnKafka } from './distributed/alerts.js';
import { tier2OnKafka } from './distributed/tier2.js';
import { TIER3_WORKER_ENV, tier3OnKafka } from './distributed/tier3.js';
import { eventually } from './process.js';
import { services, useDeployment } from './support/deployment.js';
import { testOrgs } from './support/orgs.js';

const run = promisify(execFile);
const STACK = fileURLToPath(new URL('../../../scripts/stack.sh', import.meta.url));
const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL } = services;

const orgs = testOrgs(['tier2', 'tier3', 'alerts']);
const deployment = useDeployment({
  name: 'e2e',
  workers: ['sinks', 'tier1', 'tier2', { topology: 'tier3', env: TIER3_WORKER_ENV }, 'alerts'],
  // the alerts and tier 3 workers open channel secrets and judge keys; their far ends listen on loopback
  env: { METRONIS_SECRETS_KEY: generateSecretsKey(), METRONIS_EGRESS_ALLOW: '127.0.0.1' },
  afterMigrate: orgs.create,
});
const KEY = deployment.key;

let kafka: Kafka;
let producer: Producer;

async function postTraces(path: string, body: unknown): Promise<Response> {
  return fetch(`${deployment.gatewayUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function getTrace(id: string): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${deployment.consoleUrl}/v1/traces/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${KEY}` } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return ((await res.json()) as { trace: Record<string, unknown> }).trace;
}

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'e2e-internal-team', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => {});
});

describe('metronis distributed', () => {
  it('serves a 202d trace from Postgres through the console', async () => {
    const id = `e2e-${randomUUID()}`;
    const res = await postTraces('/v1/traces', { trace_id: id, input: { messages: [{ role: 'user', content: 'Hi' }] }, output: 'Hello!', application: 'e2e' });
    expect(res.status).toBe(202);
    const trace = await eventually(() => getTrace(id), 30_000, 'trace in Postgres');
    expect(trace).toMatchObject({ trace_id: id, input: { messages: [{ role: 'user', content: 'Hi' }] }, output: { content: 'Hello!' }, application: 'e2e' });
  });

  it('evaluates a trace with Tier 1 on Kafka: critical findings in the verdict and evaluations', async () => {
    const id = `e2e-tier1-${randomUUID()}`;
    const output = 'Sure, here is the deploy key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\nand the card 4539 5781 2345 6789.';
    expect((await postTraces('/v1/traces', { trace_id: id, input: 'Give me the deploy key', output })).status).toBe(202);
    const view = await eventually(async () => {
      const res = await fetch(`${deployment.consoleUrl}/v1/traces/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as { verdict: { severity: string; passed: boolean; finding_kinds: string[] } | null; evaluations: unknown[] };
      return body.verdict !== null && body.evaluations.length > 0 ? body : undefined;
    }, 60_000, 'verdict and evaluations');
    expect(view.verdict).toMatchObject({ passed: false, severity: 'critical' });
    expect(view.verdict!.finding_kinds).toEqual(expect.arrayContaining(['secret', 'credit_card']));
  });

  it('accepts the valid items of a batch and names the invalid ones', async () => {
    const ok = [`e2e-${randomUUID()}`, `e2e-${randomUUID()}`];
    const res = await postTraces('/v1/traces/batch', {
      traces: [{ trace_id: ok[0], input: 'a', output: 'b' }, { trace_id: 'bad-1', input: 'a' }, { trace_id: ok[1], input: 'c', output: 'd' }, { trace_id: 'bad-2', input: 'a', output: 'b', usage: { input_tokens: -1 } }],
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: Array<{ index: number; trace_id: string }>; rejected: Array<{ index: number; errors: Array<{ path: string }> }> };
    expect(body.accepted).toEqual([{ index: 0, trace_id: ok[0] }, { index: 2, trace_id: ok[1] }]);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 3]);
    expect(body.rejected[1]!.errors[0]!.path).toContain('usage.input_tokens');
    for (const id of ok) await eventually(() => getTrace(id), 30_000, `${id} in Postgres`);
    const bad = await deployment.sql`select count(*)::int as n from traces where trace_id in ('bad-1', 'bad-2')`;
    expect(bad[0]!.n).toBe(0);
  });

  it('keeps one trace for a resubmitted trace id', async () => {
    const id = `e2e-dup-${randomUUID()}`;
    for (const output of ['first', 'second']) expect((await postTraces('/v1/traces', { trace_id: id, input: 'q', output })).status).toBe(202);
    await eventually(async () => ((await getTrace(id))?.output as { content?: string } | undefined)?.content === 'second' || undefined, 30_000, 'second version stored');
    const rows = await deployment.sql`select count(*)::int as n from traces where trace_id = ${id}`;
    expect(rows[0]!.n).toBe(1);
  });

  it('lands an Avro trace produced straight to Kafka by another client like a gateway one', async () => {
    const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
    // The team looks the schema up by subject (migrate registered it), as a Confluent producer would.
    const schemaId = await registry.getLatestSchemaId('metronis.traces.v1-value');
    const trace = makeTrace({ org_id: 'default', trace_id: `e2e-direct-${randomUUID()}`, application: 'internal-batch-job' });
    await producer.send({ topic: 'metronis.traces.v1', acks: -1, messages: [{ key: trace.trace_id, value: await registry.encode(schemaId, trace) }] });
    const stored = await eventually(() => getTrace(trace.trace_id), 30_000, 'direct trace in Postgres');
    expect(stored).toMatchObject({ trace_id: trace.trace_id, application: 'internal-batch-job', output: trace.output, model: { provider: 'openai', name: 'gpt-4o-mini', parameters: { temperature: 0.2 } } });
  });

  it('sends a poison record to the DLQ with its reason and moves on', async () => {
    const poisonKey = `e2e-poison-${randomUUID()}`;
    const consumer: Consumer = kafka.consumer({ groupId: `e2e-dlq-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: DLQ_TOPIC, fromBeginning: true });
    const found: Array<{ headers: Record<string, string>; value: string }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== poisonKey) return;
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        found.push({ headers, value: message.value?.toString() ?? '' });
      },
    });
    try {
      await producer.send({ topic: 'metronis.traces.v1', acks: -1, messages: [{ key: poisonKey, value: Buffer.from('this is not avro') }] });
      const after = `e2e-after-poison-${randomUUID()}`;
      expect((await postTraces('/v1/traces', { trace_id: after, input: 'q', output: 'a' })).status).toBe(202);
      await eventually(() => getTrace(after), 30_000, 'the trace after the poison record');
      // One DLQ record per consumer group of the traces topic (Postgres traces, ClickHouse facts, Tier 1).
      await eventually(async () => (found.length >= 3 ? true : undefined), 30_000, 'poison record in the DLQ');
      const stages = found.map((f) => f.headers[DLQ_HEADERS.stage]).sort();
      expect(stages).toEqual(['sink-clickhouse-trace-facts', 'sink-postgres-traces', 'tier1']);
      for (const f of found) {
        expect(f.value).toBe('this is not avro');
        expect(f.headers[DLQ_HEADERS.topic]).toBe('metronis.traces.v1');
        expect(f.headers[DLQ_HEADERS.error]).toMatch(/magic|wire|schema/i);
        expect(f.headers[DLQ_HEADERS.offset]).toMatch(/^\d+$/);
      }
    } finally {
      await consumer.disconnect();
    }
  });

});

tier2OnKafka(deployment, () => orgs.key('tier2'));
tier3OnKafka(deployment, () => orgs.key('tier3'));
alertsOnKafka(deployment, () => orgs.key('alerts'));

// Last: it stops and restarts Kafka under every process of the deployment.
/**
 * How long the broker may take to start again, and the sinks to land the backlog after it: a JVM
 * start on a loaded 2-core machine was seen to pass 120 s (a test's own limit, not the product's).
 */
const KAFKA_START_MS = 240_000;

describe('metronis distributed: the broker stopped mid-load', () => {
  it('answers 503 while the broker is down, and every 202d trace lands exactly once', async () => {
    const accepted: string[] = [];
    const unavailable: Array<{ retryAfter: string | null }> = [];
    let stop = false;
    let sent = 0;
    async function client() {
      while (!stop) {
        const id = `e2e-load-${randomUUID()}`;
        sent++;
        try {
          const res = await postTraces('/v1/traces', { trace_id: id, input: 'load', output: 'test' });
          if (res.status === 202) accepted.push(id);
          else if (res.status === 503) unavailable.push({ retryAfter: res.headers.get('retry-after') });
          else throw new Error(`unexpected status ${res.status}: ${await res.text()}`);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('unexpected status')) throw error;
        }
      }
    }
    const clients = Array.from({ length: 4 }, client);
    try {
      await eventually(async () => (accepted.length >= 50 ? true : undefined), 30_000, 'load running');
      await run('bash', [STACK, 'kill', 'kafka']);
      await eventually(async () => (unavailable.length >= 3 ? true : undefined), 60_000, '503s while the broker is down');
      await run('bash', [STACK, 'start', 'kafka'], { timeout: KAFKA_START_MS, env: { ...process.env, METRONIS_STACK_TIMEOUT: String(KAFKA_START_MS / 1000 - 10) } });
      const before = accepted.length;
      await eventually(async () => (accepted.length >= before + 50 ? true : undefined), 120_000, '202s again after the broker restarts');
    } finally {
      stop = true;
      await Promise.all(clients);
      await run('bash', [STACK, 'start', 'kafka'], { timeout: KAFKA_START_MS, env: { ...process.env, METRONIS_STACK_TIMEOUT: String(KAFKA_START_MS / 1000 - 10) } });
    }
    expect(unavailable.length).toBeGreaterThan(0);
    expect(unavailable.every((u) => u.retryAfter !== null && Number(u.retryAfter) > 0)).toBe(true);
    await eventually(
      async () => {
        const rows = await deployment.sql`select count(*)::int as n, count(distinct trace_id)::int as d from traces where trace_id = any(${accepted})`;
        return rows[0]!.n === accepted.length ? rows[0] : undefined;
      },
      KAFKA_START_MS,
      `all ${accepted.length} accepted traces in Postgres`,
    );
    const rows = await deployment.sql`select count(*)::int as n, count(distinct trace_id)::int as d from traces where trace_id = any(${accepted})`;
    expect(rows[0]).toEqual({ n: accepted.length, d: accepted.length });
    process.stdout.write(`broker outage: ${sent} sent, ${accepted.length} accepted (all landed once), ${unavailable.length} answered 503\n`);
  }, 900_000);
});
