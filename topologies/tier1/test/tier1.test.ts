/**
 * Tier 1 on the real embedded log, the real runner and the Avro serde with an in-process registry:
 * traces in, tier results and verdicts (or escalations) out, under each org's own policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyCache, DEFAULT_POLICY, parsePolicy, warmUp, type PolicyInput } from '@metronis/evaluators';
import { makeTrace, type Escalation, type RecordTypes, type SchemaName, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import {
  createEmbeddedLog,
  createInProcessRegistry,
  createSerde,
  DLQ_HEADERS,
  DLQ_TOPIC,
  runTopology,
  topologyTopics,
  TOPICS,
  type Log,
  type RunnerHandle,
  type Serde,
  type TopicDef,
} from '@metronis/streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describe as describeTier1, evaluateTier1, tier1Topology } from '../src/index.js';

/** A card number that passes the Luhn check and is not one of the published test numbers. */
function luhnCard(first15: string): string {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = Number(first15[14 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  const digits = first15 + String((10 - (sum % 10)) % 10);
  return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}
const CARD = luhnCard('455673758143392');

const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n'.repeat(3)}-----END RSA PRIVATE KEY-----`;

const answer = (content: string, finish_reason: string | null = 'stop') => ({ output: { content, finish_reason } });

let dir: string;
let log: Log;
let serde: Serde;
let runner: RunnerHandle;
/** The stored policy documents by org (what the relational store would hold), and who was loaded. */
const documents = new Map<string, PolicyInput | (() => never)>();
const loads: string[] = [];
const loadErrors: string[] = [];
let orgCounter = 0;
const newOrg = (policy?: PolicyInput | (() => never)) => {
  const org = `org_tier1_${++orgCounter}`;
  if (policy !== undefined) documents.set(org, policy);
  return org;
};

beforeAll(async () => {
  warmUp(DEFAULT_POLICY, 5); // the dictionary load and JIT, paid before the first trace
  dir = mkdtempSync(join(tmpdir(), 'metronis-tier1-'));
  log = await createEmbeddedLog({ dir });
  const policies = createPolicyCache({
    load: async (org) => {
      loads.push(org);
      const document = documents.get(org);
      if (typeof document === 'function') document();
      return document ?? null;
    },
    onError: (error, org) => loadErrors.push(`${org}: ${error.message}`),
  });
  const topology = tier1Topology({ policies });
  await log.admin.createTopics(topologyTopics(topology, { dlqPartitions: 1 }));
  serde = createSerde(createInProcessRegistry());
  runner = runTopology(topology, { log, serde, logger: { info() {}, warn() {}, error() {} }, retry: { initialMs: 5, maxMs: 20 }, consumer: { maxWaitMs: 20 } });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await log?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function produce(traces: Trace[]): Promise<void> {
  const traceSerde = await serde.forTopic(TOPICS.traces);
  await log.producer().send(traces.map((t) => ({ topic: TOPICS.traces.name, key: t.trace_id, value: traceSerde.encode(t) })));
}

/**
 * The decoded records of `topic` keyed by the given trace ids, read from the start by a throwaway
 * group, until all are found; with `caughtUp`, also stops at the first empty fetch (for records that
 * should be absent: call it only once the tier has handled the trace, whose outputs are produced together).
 */
async function read<N extends SchemaName>(topic: TopicDef<N>, keys: string[], options: { caughtUp?: boolean } = {}): Promise<Map<string, RecordTypes[N]>> {
  const topicSerde = await serde.forTopic(topic);
  const consumer = log.consumer({ groupId: `reader-${Math.random()}`, topics: [topic.name], maxWaitMs: 20 });
  const found = new Map<string, RecordTypes[N]>();
  const deadline = Date.now() + 15_000;
  try {
    for await (const batch of consumer.batches()) {
      for (const record of batch) if (record.key !== null && keys.includes(record.key)) found.set(record.key, await topicSerde.decode(record.value));
      if (found.size === keys.length || (options.caughtUp && batch.length === 0) || Date.now() > deadline) break;
    }
  } finally {
    await consumer.close();
  }
  return found;
}

/** Runs traces through the tier; returns each trace's tier result and its verdict (or undefined). */
async function evaluate(traces: Trace[]): Promise<{ results: Map<string, TierResult>; verdicts: Map<string, Verdict> }> {
  await produce(traces);
  const ids = traces.map((t) => t.trace_id);
  const results = await read(TOPICS.evaluations, ids);
  expect([...results.keys()].sort()).toEqual([...ids].sort());
  return { results, verdicts: await read(TOPICS.verdicts, ids, { caughtUp: true }) };
}

const kindsOf = (result: TierResult) => result.modules.flatMap((m) => m.findings.map((f) => f.kind));

describe('tier1 topology', () => {
  it('describes itself: group, input and its four outputs', () => {
    const text = describeTier1();
    expect(text).toMatch(/^topology tier1 \(transform\)/);
    expect(text).toContain('group:   metronis.tier1.v1');
    expect(text).toContain('input:   metronis.traces.v1 (Trace)');
    expect(text).toContain(
      'outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict), metronis.escalations.tier2.v1 (Escalation), metronis.escalations.tier3.v1 (Escalation)',
    );
  });

  it('refuses to be built without a policy source', () => {
    expect(() => tier1Topology({} as never)).toThrow(/policies must have get\(orgId\)/);
  });

  it('finds a card number, a private key, truncated JSON and a contradiction, with the right severities', async () => {
    const org = newOrg();
    const card = makeTrace({ org_id: org, application: 'billing-bot', environment: 'prod', ...answer(`Sure, the card on file is ${CARD}, expiring next year.`) });
    const key = makeTrace({ org_id: org, ...answer(`Here is the deploy key you asked for:\n${PEM}\nKeep it safe.`) });
    const json = makeTrace({ org_id: org, expected_format: 'json', ...answer('{"order_id": "A-1029", "items": [{"sku": "X1", "qty": 2}, {"sku": "Y', 'length') });
    const contradiction = makeTrace({ org_id: org, ...answer('Revenue was $5M in the quarter, driven by new contracts. Costs stayed flat. Revenue was $7M in the quarter.') });
    const { results, verdicts } = await evaluate([card, key, json, contradiction]);

    const cardResult = results.get(card.trace_id)!;
    expect(kindsOf(cardResult)).toEqual(['credit_card']);
    expect(cardResult).toMatchObject({ evaluation_id: `${card.trace_id}:1`, org_id: org, tier: 1, trace_timestamp: card.timestamp, passed: false, severity: 'critical' });
    expect(cardResult.modules.map((m) => m.module)).toEqual(['format', 'safety', 'pii', 'consistency', 'quality']);
    expect(verdicts.get(card.trace_id)).toMatchObject({
      trace_id: card.trace_id,
      org_id: org,
      tier: 1,
      passed: false,
      severity: 'critical',
      score: cardResult.score,
      finding_kinds: ['credit_card'],
      failed_modules: ['pii'],
      application: 'billing-bot',
      environment: 'prod',
    });

    expect(kindsOf(results.get(key.trace_id)!)).toEqual(['secret']);
    expect(results.get(key.trace_id)!.severity).toBe('critical');
    expect(verdicts.get(key.trace_id)).toMatchObject({ severity: 'critical', finding_kinds: ['secret'], failed_modules: ['safety'] });

    expect(kindsOf(results.get(json.trace_id)!).sort()).toEqual(['invalid_json', 'truncated']);
    expect(verdicts.get(json.trace_id)).toMatchObject({ passed: false, severity: 'high', failed_modules: ['format'] });
    expect(verdicts.get(json.trace_id)!.finding_kinds.sort()).toEqual(['invalid_json', 'truncated']);

    expect(kindsOf(results.get(contradiction.trace_id)!)).toEqual(['contradiction']);
    expect(verdicts.get(contradiction.trace_id)).toMatchObject({ passed: false, severity: 'medium', finding_kinds: ['contradiction'], failed_modules: ['consistency'] });
  });

  it('finds nothing in a trace full of look-alikes (order ids, dates, UUIDs, "kill the process")', async () => {
    const org = newOrg();
    const lookalikes = makeTrace({
      org_id: org,
      input: { text: 'Where is my order? And how do I stop a stuck job?', messages: [] },
      ...answer(
        'Your order ORD-2024-118834 shipped on 2024-03-15 and should arrive by 03/19/2024. The tracking reference is ' +
          '3f2b8c1e-9d4a-4e7b-a1c2-5d6e7f8a9b0c. To stop the stuck job, kill the process with kill -9 12345 and restart the worker. ' +
          'Invoice number 4820-1193-7731 covers both items.',
      ),
    });
    const { results, verdicts } = await evaluate([lookalikes]);
    expect(kindsOf(results.get(lookalikes.trace_id)!)).toEqual([]);
    expect(verdicts.get(lookalikes.trace_id)).toMatchObject({ passed: true, finding_kinds: [], failed_modules: [] });
  });

  it('looks up each org\'s own policy: the same answer fails for one org and passes for another', async () => {
    const strict = newOrg();
    const lenient = newOrg({ modules: { pii: { enabled: false } } });
    const content = answer(`Sure, the card on file is ${CARD}.`);
    const a = makeTrace({ org_id: strict, ...content });
    const b = makeTrace({ org_id: lenient, ...content });
    const { results, verdicts } = await evaluate([a, b]);
    expect(verdicts.get(a.trace_id)).toMatchObject({ passed: false, severity: 'critical' });
    expect(results.get(b.trace_id)!.modules.map((m) => m.module)).not.toContain('pii');
    expect(verdicts.get(b.trace_id)).toMatchObject({ passed: true, finding_kinds: [] });
    expect(loads).toEqual(expect.arrayContaining([strict, lenient]));
    expect(loads.filter((o) => o === lenient)).toHaveLength(1); // cached, not loaded per trace
  });

  it('escalates to tier 2 when the policy enables it and the score is in the band; clean traces still get a verdict', async () => {
    const org = newOrg({ escalation: { tier2: { enabled: true, band: { min_score: 0.5, max_score: 0.99 } } } });
    const uncertain = makeTrace({ org_id: org, ...answer('Revenue was $5M in the quarter, driven by new contracts. Costs stayed flat. Revenue was $7M in the quarter.') });
    const clean = makeTrace({ org_id: org, ...answer('The capital of France is Paris. It has been the capital for centuries.') });
    const { results, verdicts } = await evaluate([uncertain, clean]);
    const score = results.get(uncertain.trace_id)!.score;
    expect(score).toBeGreaterThanOrEqual(0.5);
    expect(score).toBeLessThanOrEqual(0.99);
    expect(results.get(clean.trace_id)!.score).toBe(1);

    const escalations = await read(TOPICS.escalationsTier2, [uncertain.trace_id]);
    const escalation: Escalation = escalations.get(uncertain.trace_id)!;
    expect(escalation.target_tier).toBe(2);
    expect(escalation.trace).toEqual(uncertain);
    expect(escalation.results).toEqual([results.get(uncertain.trace_id)]);
    expect(escalation.reason).toBe(`tier 1 score ${score} is inside the tier 2 escalation band [0.5, 0.99]`);
    expect(verdicts.has(uncertain.trace_id)).toBe(false);
    expect(verdicts.get(clean.trace_id)).toMatchObject({ passed: true, tier: 1 });
  });

  it('escalates straight to tier 3 when only tier 3 is enabled', async () => {
    const org = newOrg({ escalation: { tier3: { enabled: true, band: { min_score: 0, max_score: 0.99 } } } });
    const trace = makeTrace({ org_id: org, ...answer(`Here is the deploy key you asked for:\n${PEM}\nKeep it safe.`) });
    await produce([trace]);
    const escalation = (await read(TOPICS.escalationsTier3, [trace.trace_id])).get(trace.trace_id)!;
    expect(escalation).toMatchObject({ target_tier: 3, reason: expect.stringMatching(/tier 3 escalation band \[0, 0\.99\]/) });
    expect((await read(TOPICS.escalationsTier2, [trace.trace_id], { caughtUp: true })).size).toBe(0);
    expect((await read(TOPICS.verdicts, [trace.trace_id], { caughtUp: true })).size).toBe(0);
  });

  it('evaluates under the default policy when the org\'s policy cannot be loaded, and says so', async () => {
    const org = newOrg(() => {
      throw new Error('policy store unreachable');
    });
    const trace = makeTrace({ org_id: org, ...answer(`Sure, the card on file is ${CARD}.`) });
    const { verdicts } = await evaluate([trace]);
    expect(verdicts.get(trace.trace_id)).toMatchObject({ passed: false, severity: 'critical', finding_kinds: ['credit_card'] });
    expect(loadErrors).toContain(`${org}: policy store unreachable`);
  });

  it('sends a trace without an organization to the DLQ and moves on', async () => {
    const orphan = makeTrace({ org_id: '' });
    const next = makeTrace({ org_id: newOrg() });
    await produce([orphan]);
    const { verdicts } = await evaluate([next]);
    expect(verdicts.get(next.trace_id)).toBeDefined();
    const consumer = log.consumer({ groupId: `dlq-reader-${Math.random()}`, topics: [DLQ_TOPIC], maxWaitMs: 20 });
    const dead = [];
    const deadline = Date.now() + 10_000;
    for await (const batch of consumer.batches()) {
      dead.push(...batch.filter((r) => r.key === orphan.trace_id));
      if (dead.length > 0 || Date.now() > deadline) break;
    }
    await consumer.close();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers[DLQ_HEADERS.stage]).toBe('tier1');
    expect(dead[0]!.headers[DLQ_HEADERS.error]).toMatch(/orgId must be a non-empty string/);
  });
});

describe('evaluateTier1 (the processor without the log)', () => {
  it('never loses a trace when a module throws: the module is labelled module_error and the verdict still comes', () => {
    // a record the contract forbids (no output) makes the modules that read the output throw
    const broken = { ...makeTrace({ org_id: 'org_x' }), output: null } as unknown as Trace;
    const outputs = evaluateTier1(broken, parsePolicy({ module_error_severity: 'high' }), { now: () => 1_700_000_000_000 });
    expect(outputs.map((o) => o.topic.name)).toEqual([TOPICS.evaluations.name, TOPICS.verdicts.name]);
    const result = outputs[0]!.value as TierResult;
    expect(result.modules).toHaveLength(5);
    const errored = result.modules.filter((m) => m.labels.includes('module_error'));
    expect(errored.length).toBeGreaterThan(0);
    expect(errored[0]!.findings[0]!.message).toMatch(/the module threw/);
    expect(errored[0]!.severity).toBe('high');
    expect(result.evaluated_at).toBe(1_700_000_000_000);
    const verdict = outputs[1]!.value as Verdict;
    expect(verdict.finding_kinds).toContain('module_error');
    expect(verdict).toMatchObject({ trace_id: broken.trace_id, passed: false, severity: 'high' });
    expect(verdict.failed_modules).toEqual(expect.arrayContaining(errored.map((m) => m.module)));
    expect(verdict.decided_at).toBe(1_700_000_000_000);
  });

  it('does not touch the input trace', () => {
    const trace = makeTrace({ ...answer(`Card ${CARD}`) });
    const copy = structuredClone(trace);
    evaluateTier1(trace, DEFAULT_POLICY);
    expect(trace).toEqual(copy);
  });
});
