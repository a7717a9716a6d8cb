/**
 * Tier 2 on the real embedded log, the real runner, the Avro serde, the real encoder (installed by
 * `npm run tier2:model`) and the shipped model: tier 1's escalations in, tier results and verdicts (or
 * escalations to tier 3) out, under each org's policy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyCache, DEFAULT_POLICY, parsePolicy, type PolicyInput } from '@metronis/evaluators';
import { makeTrace, type Escalation, type RecordTypes, type SchemaName, type TierResult, type Trace } from '@metronis/schemas';
import { createEmbeddedLog, createInProcessRegistry, createSerde, DLQ_TOPIC, runTopology, topologyTopics, TOPICS, type Log, type RunnerHandle, type Serde, type TopicDef } from '@metronis/streams';
import { evaluateTier1 } from '@metronis/topology-tier1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createModelRegistry,
  defaultModelCacheDir,
  describe as describeTier2,
  evaluateTier2,
  listModelVersions,
  loadEncoder,
  loadTokenizer,
  meanVector,
  scoreField,
  severityOf,
  tier2Topology,
  UNCERTAIN_VERDICT_LABEL,
  type Encoder,
} from '../src/index.js';

// The issue's two examples (harm phrased without tier 1's trigger words), shared with scripts/evaluation.ts.
const examples = JSON.parse(readFileSync(new URL('./fixtures/examples.json', import.meta.url), 'utf8')) as Record<'violent' | 'explosive', { input: string; output: string }>;
const VIOLENT = examples.violent;
const EXPLOSIVE = examples.explosive;

const traceOf = (org: string, text: { input: string; output: string }): Trace =>
  makeTrace({ org_id: org, input: { text: text.input, messages: [] }, output: { content: text.output, finish_reason: 'stop' } });

/** What tier 1 hands tier 2 for a trace: the escalation with tier 1's own result. */
function escalationOf(trace: Trace): Escalation {
  const [evaluation] = evaluateTier1(trace, DEFAULT_POLICY);
  return { trace, results: [evaluation!.value as TierResult], target_tier: 2, reason: 'in the sample' };
}

const quiet = { info() {}, warn() {}, error() {} };
let dir: string;
let log: Log;
let serde: Serde;
let runner: RunnerHandle;
let encoder: Encoder;
const documents = new Map<string, PolicyInput>();
let orgCounter = 0;
const newOrg = (policy?: PolicyInput) => {
  const org = `org_tier2_${++orgCounter}`;
  if (policy !== undefined) documents.set(org, policy);
  return org;
};

beforeAll(async () => {
  encoder = await loadEncoder({ cacheDir: defaultModelCacheDir(process.env) });
  dir = mkdtempSync(join(tmpdir(), 'metronis-tier2-'));
  log = await createEmbeddedLog({ dir });
  const policies = createPolicyCache({ load: async (org) => documents.get(org) ?? null });
  const topology = tier2Topology({ policies, encoder, models: (e) => createModelRegistry({ encoderSha256: e.modelSha256 }) });
  await log.admin.createTopics(topologyTopics(topology, { dlqPartitions: 1 }));
  serde = createSerde(createInProcessRegistry());
  runner = runTopology(topology, { log, serde, logger: quiet, retry: { initialMs: 5, maxMs: 20 }, consumer: { maxWaitMs: 20 } });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await log?.close();
  await encoder?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function produce(escalations: Escalation[]): Promise<void> {
  const topicSerde = await serde.forTopic(TOPICS.escalationsTier2);
  await log.producer().send(escalations.map((e) => ({ topic: TOPICS.escalationsTier2.name, key: e.trace.trace_id, value: topicSerde.encode(e) })));
}

async function read<N extends SchemaName>(topic: TopicDef<N>, keys: string[], options: { caughtUp?: boolean } = {}): Promise<Map<string, RecordTypes[N]>> {
  const topicSerde = await serde.forTopic(topic);
  const consumer = log.consumer({ groupId: `reader-${Math.random()}`, topics: [topic.name], maxWaitMs: 20 });
  const found = new Map<string, RecordTypes[N]>();
  const deadline = Date.now() + 20_000;
  try {
    for await (const batch of consumer.batches()) {
      for (const record of batch) {
        if (record.key === null || !keys.includes(record.key)) continue;
        const value = (await topicSerde.decode(record.value)) as RecordTypes[N];
        // the evaluations topic holds tier 1's results too (those of the escalations): keep tier 2's
        if (topic.name === TOPICS.evaluations.name && (value as TierResult).tier !== 2) continue;
        found.set(record.key, value);
      }
      if (found.size === keys.length || (options.caughtUp && batch.length === 0) || Date.now() > deadline) break;
    }
  } finally {
    await consumer.close();
  }
  return found;
}

/** Every word piece id of a text, `[CLS] … [SEP]`, untruncated. */
const loadTokenizerIds = async (text: string) => (await loadTokenizer(defaultModelCacheDir(process.env))).encode(text, Number.MAX_SAFE_INTEGER);

const kindsOf = (result: TierResult) => result.modules.flatMap((m) => m.findings.map((f) => f.kind));

describe('tier2 topology', () => {
  it('describes itself: group, input and its three outputs', () => {
    const text = describeTier2();
    expect(text).toMatch(/^topology tier2 \(transform\)/);
    expect(text).toContain('group:   metronis.tier2.v1');
    expect(text).toContain('input:   metronis.escalations.tier2.v1 (Escalation)');
    expect(text).toContain('outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict), metronis.escalations.tier3.v1 (Escalation)');
  });

  it('refuses to be built without a policy source, an encoder or models', () => {
    expect(() => tier2Topology({} as never)).toThrow(/policies must have get/);
    expect(() => tier2Topology({ policies: { get: async () => DEFAULT_POLICY } } as never)).toThrow(/encoder is required/);
    expect(() => tier2Topology({ policies: { get: async () => DEFAULT_POLICY }, encoder } as never)).toThrow(/models must be a function/);
  });

  it('gives a violent instruction and an explosive-making instruction a high or critical verdict that tier 1 missed', async () => {
    const org = newOrg();
    const violent = escalationOf(traceOf(org, VIOLENT));
    const explosive = escalationOf(traceOf(org, EXPLOSIVE));
    for (const e of [violent, explosive]) expect(e.results[0]).toMatchObject({ tier: 1, passed: true }); // what tier 1 says alone
    await produce([violent, explosive]);
    const ids = [violent.trace.trace_id, explosive.trace.trace_id];
    const results = await read(TOPICS.evaluations, ids);
    const verdicts = await read(TOPICS.verdicts, ids);
    for (const e of [violent, explosive]) {
      const id = e.trace.trace_id;
      const result = results.get(id)!;
      expect(result).toMatchObject({ evaluation_id: `${id}:2`, tier: 2, org_id: org, passed: false, trace_timestamp: e.trace.timestamp });
      const newest = listModelVersions().at(-1)!;
      expect(result.modules.map((m) => [m.module, m.version])).toEqual([['prompt_attack', newest], ['harmful', newest], ['toxicity', newest]]);
      expect(['high', 'critical']).toContain(result.severity);
      expect(kindsOf(result)).toContain('harmful_request');
      const harmful = result.modules.find((m) => m.module === 'harmful')!;
      for (const f of harmful.findings) expect(f.confidence).toBeGreaterThanOrEqual(DEFAULT_POLICY.tier2.severity_bands.low);
      expect(verdicts.get(id)).toMatchObject({ tier: 2, passed: false, severity: result.severity, score: result.score, application: e.trace.application });
      expect(verdicts.get(id)!.failed_modules).toContain('harmful');
      expect(verdicts.get(id)!.finding_kinds).toContain('harmful_request');
    }
  });

  it('passes an ordinary support trace and a security question, combining tier 1 into the verdict', async () => {
    const org = newOrg();
    const support = escalationOf(traceOf(org, { input: 'My order arrived damaged, can I get a replacement?', output: 'Sorry about that! I have created a replacement order at no cost; it ships within two business days.' }));
    const security = escalationOf(
      traceOf(org, { input: 'How do I kill -9 a process that ignores SIGTERM?', output: 'Run `kill -15 <pid>` first; if the process is still there after a few seconds, `kill -9 <pid>` stops it without cleanup.' }),
    );
    await produce([support, security]);
    const ids = [support.trace.trace_id, security.trace.trace_id];
    const verdicts = await read(TOPICS.verdicts, ids);
    for (const id of ids) expect(verdicts.get(id)).toMatchObject({ tier: 2, passed: true, failed_modules: [] });
  });

  it('escalates to tier 3 when tier 3 is enabled and tier 2 is unsure, with both tiers\' results', async () => {
    const org = newOrg({ escalation: { tier3: { enabled: true, band: { min_score: 0, max_score: 1 } } } });
    const e = escalationOf(traceOf(org, EXPLOSIVE));
    await produce([e]);
    const escalation = (await read(TOPICS.escalationsTier3, [e.trace.trace_id])).get(e.trace.trace_id)!;
    expect(escalation).toMatchObject({ target_tier: 3, trace: e.trace, reason: expect.stringMatching(/^tier 2 score [\d.]+ is inside the tier 3 escalation band \[0, 1\]$/) });
    expect(escalation.results.map((r) => r.tier)).toEqual([1, 2]);
    expect((await read(TOPICS.verdicts, [e.trace.trace_id], { caughtUp: true })).size).toBe(0);
  });

  it('labels a model version the release does not ship model_unavailable and still gives the verdict of tier 1', async () => {
    const org = newOrg({ tier2: { model: 'v999' } });
    const e = escalationOf(traceOf(org, EXPLOSIVE));
    await produce([e]);
    const result = (await read(TOPICS.evaluations, [e.trace.trace_id])).get(e.trace.trace_id)!;
    expect(result.modules).toEqual([expect.objectContaining({ module: 'classifier', version: 'v999', labels: ['module_error', 'model_unavailable'], severity: 'low' })]);
    expect(result.modules[0]!.findings[0]!.message).toMatch(/model v999 is not shipped with this release \(shipped: v1/);
    expect((await read(TOPICS.verdicts, [e.trace.trace_id])).get(e.trace.trace_id)).toMatchObject({ tier: 2, passed: true, severity: 'low', failed_modules: [] });
    expect(runner.stats().dlq).toBe(0);
  });
});

describe('tier 2 models, shadow versions and failures', () => {
  /** The shipped v1, and a "v9" that is v1 with a bias so low that it never flags anything. */
  function registry() {
    const v1 = readFileSync(new URL('../models/v1/model.json', import.meta.url), 'utf8');
    const blind = JSON.parse(v1) as { version: string; heads: Record<string, { bias: number }> };
    blind.version = 'v9';
    for (const head of Object.values(blind.heads)) head.bias = -50;
    return createModelRegistry({ encoderSha256: encoder.modelSha256, read: (v) => (v === 'v9' ? JSON.stringify(blind) : v1), versions: () => ['v1', 'v9'] });
  }

  it('scores with a shadow version without letting it decide, and says whether it agrees', async () => {
    const policy = parsePolicy({ tier2: { model: 'v1', shadow_model: 'v9' } });
    const harmful = await evaluateTier2(escalationOf(traceOf('org_shadow', EXPLOSIVE)), policy, encoder, registry());
    const result = harmful[0]!.value as TierResult;
    const shadow = result.modules.find((m) => m.module === 'shadow')!;
    expect(shadow).toMatchObject({ version: 'v9', passed: true, severity: 'none', findings: [] });
    expect(shadow.labels).toEqual(['shadow', 'disagrees', 'live:v1']);
    expect(result.passed).toBe(false); // the live version decides
    const verdict = harmful[1]!.value as RecordTypes['Verdict'];
    expect(verdict.failed_modules).not.toContain('shadow');

    const benign = await evaluateTier2(escalationOf(traceOf('org_shadow', { input: 'What is the capital of France?', output: 'Paris.' })), policy, encoder, registry());
    expect((benign[0]!.value as TierResult).modules.find((m) => m.module === 'shadow')!.labels).toEqual(['shadow', 'agrees', 'live:v1']);
  });

  it('refuses a model trained on another encoder, or with the wrong number of weights', () => {
    const v1 = readFileSync(new URL('../models/v1/model.json', import.meta.url), 'utf8');
    const other = createModelRegistry({ encoderSha256: 'f'.repeat(64), read: () => v1 });
    expect(() => other.get('v1')).toThrow(/trained on encoder afdb6f1a0e45…, not on the installed ffffffffffff…/);
    const short = JSON.parse(v1) as { heads: { harmful: { weights: number[] } } };
    short.heads.harmful.weights = short.heads.harmful.weights.slice(1);
    expect(() => createModelRegistry({ encoderSha256: encoder.modelSha256, read: () => JSON.stringify(short) }).get('v1')).toThrow(/head harmful has 383 weights, the encoder gives 384/);
    expect(() => createModelRegistry({ encoderSha256: encoder.modelSha256, read: () => '{' }).get('v1')).toThrow(/model.json is malformed/);
    expect(() => registry().get('latest')).toThrow(/not of the form v<number>/);
    expect(listModelVersions()).toContain('v1');
  });

  it('judges an answer with its request (v2\'s harmful head), and refuses context weights of the wrong size', async () => {
    const shipped = createModelRegistry({ encoderSha256: encoder.modelSha256 });
    const model = shipped.get('v2');
    expect(model.heads.harmful.contextWeights).not.toBeNull();
    expect(shipped.get('v1').heads.harmful.contextWeights).toBeNull();
    const [answer, explosive, cake] = await encoder.embed([EXPLOSIVE.output, EXPLOSIVE.input, 'How do I make a sponge cake rise higher in the oven?']);
    const after = (request: Float32Array[] | undefined) => scoreField(model, 'output', answer!, request === undefined ? undefined : meanVector(request)).harmful!;
    // The same answer reads as more harmful after a request to knock down a wall than after a baking question.
    expect(after(explosive)).toBeGreaterThan(after(cake));
    expect(after(undefined)).not.toBe(after(explosive));
    // An input is scored alone: the request vector does not apply to it.
    expect(scoreField(model, 'input', explosive!, meanVector(cake!)).harmful).toBe(scoreField(model, 'input', explosive!).harmful);
    const v2 = JSON.parse(readFileSync(new URL('../models/v2/model.json', import.meta.url), 'utf8')) as { heads: { harmful: { context_weights: number[] } } };
    v2.heads.harmful.context_weights = v2.heads.harmful.context_weights.slice(2);
    expect(() => createModelRegistry({ encoderSha256: encoder.modelSha256, read: () => JSON.stringify(v2) }).get('v2')).toThrow(/head harmful has 382 context weights, the encoder gives 384/);
  });

  /** The newest shipped model, calibrated so that every text reads toxic at 0.6 (medium, the uncertain middle) and nothing else shows. */
  function unsureRegistry() {
    const newest = listModelVersions().at(-1)!;
    const model = JSON.parse(readFileSync(new URL(`../models/${newest}/model.json`, import.meta.url), 'utf8')) as { heads: Record<string, { calibration: Record<string, { a: number; b: number }> }> };
    for (const [risk, head] of Object.entries(model.heads)) for (const field of Object.keys(head.calibration)) head.calibration[field] = { a: 0, b: Math.log(risk === 'toxicity' ? 0.6 / 0.4 : 0.05 / 0.95) };
    return createModelRegistry({ encoderSha256: encoder.modelSha256, read: () => JSON.stringify(model), versions: () => [newest] });
  }
  const ordinary = () => escalationOf(traceOf('org_unsure', { input: 'What is the capital of France?', output: 'Paris.' }));

  it('does not fail a trace in its uncertain middle when tier 3 is off: the earlier tiers decide, the verdict says tier 2 was unsure', async () => {
    const [evaluation, next] = await evaluateTier2(ordinary(), DEFAULT_POLICY, encoder, unsureRegistry());
    const result = evaluation!.value as TierResult;
    expect(result).toMatchObject({ tier: 2, passed: true, severity: 'medium', score: 0.4 });
    const toxicity = result.modules.find((m) => m.module === 'toxicity')!;
    expect(toxicity).toMatchObject({ passed: true, severity: 'medium', labels: ['toxicity', 'uncertain'] });
    expect(toxicity.findings.map((f) => [f.kind, f.field, f.confidence])).toEqual([['toxicity', 'input', 0.6], ['toxicity', 'output', 0.6]]);
    expect(next!.topic).toBe(TOPICS.verdicts);
    expect(next!.value).toMatchObject({ tier: 2, passed: true, failed_modules: [], labels: [UNCERTAIN_VERDICT_LABEL] });
  });

  it('sends a trace in its uncertain middle to tier 3 when tier 3 is enabled, whatever tier 3\'s band', async () => {
    const policy = parsePolicy({ escalation: { tier3: { enabled: true, band: { min_score: 0.9, max_score: 1 } } } });
    const [evaluation, next] = await evaluateTier2(ordinary(), policy, encoder, unsureRegistry());
    expect((evaluation!.value as TierResult).passed).toBe(true); // tier 3's judgment decides, not tier 2's doubt
    expect(next!.topic).toBe(TOPICS.escalationsTier3);
    expect(next!.value).toMatchObject({ target_tier: 3, reason: 'tier 2 is unsure: toxicity 0.6, toxicity 0.6 (severity medium), below tier2.decide_at high' });
    expect((next!.value as Escalation).results.map((r) => [r.tier, r.passed])).toEqual([[1, true], [2, true]]);
  });

  it('fails the uncertain middle alone when the org sets decide_at to its fail_at, and never holds back a sure failure', async () => {
    const strict = parsePolicy({ tier2: { decide_at: 'medium' } });
    const [evaluation, next] = await evaluateTier2(ordinary(), strict, encoder, unsureRegistry());
    expect(evaluation!.value).toMatchObject({ passed: false, severity: 'medium' });
    expect((evaluation!.value as TierResult).modules.find((m) => m.module === 'toxicity')!.labels).toEqual(['toxicity']);
    expect(next!.value).toMatchObject({ passed: false, failed_modules: ['toxicity'], labels: [] });
    // decide_at critical: the answered explosive instruction (high) is unsure too; with the default it is not
    const sure = await evaluateTier2(escalationOf(traceOf('org_unsure', EXPLOSIVE)), DEFAULT_POLICY, encoder, createModelRegistry({ encoderSha256: encoder.modelSha256 }));
    expect(sure[1]!.value).toMatchObject({ passed: false, labels: [] });
    const cautious = await evaluateTier2(escalationOf(traceOf('org_unsure', EXPLOSIVE)), parsePolicy({ tier2: { decide_at: 'critical' } }), encoder, createModelRegistry({ encoderSha256: encoder.modelSha256 }));
    expect(cautious[1]!.value).toMatchObject({ passed: true, labels: [UNCERTAIN_VERDICT_LABEL] });
  });

  it('reads a long text by its first and last windows, and gives a text the same vector whatever it is embedded beside', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const ids = encoder.chunks(long);
    expect(encoder.settings).toBe('single/head_tail/2');
    expect(ids).toHaveLength(2);
    const all = (await loadTokenizerIds(long)).slice(1, -1);
    expect(ids[0]!.slice(1, -1)).toEqual(all.slice(0, 126));
    expect(ids[1]!.slice(1, -1)).toEqual(all.slice(-126));
    // without the chunk cache, so that the second vector is computed again
    const uncached = await loadEncoder({ cacheDir: defaultModelCacheDir(process.env), cacheSize: 0 });
    try {
      const [alone] = await uncached.embed([VIOLENT.input]);
      const [, beside] = await uncached.embed([`${VIOLENT.output} ${long}`, VIOLENT.input]);
      expect(Array.from(beside![0]!)).toEqual(Array.from(alone![0]!));
      // and the cache hands back what was computed
      expect(Array.from((await encoder.embed([VIOLENT.input]))[0]![0]!)).toEqual(Array.from(alone![0]!));
    } finally {
      await uncached.close();
    }
    await expect(loadEncoder({ cacheDir: defaultModelCacheDir(process.env), batching: 'joint', cacheSize: 10 })).rejects.toThrow(/cacheSize needs batching "single"/);
  });

  it('grades a probability by the org\'s severity bands', () => {
    const bands = DEFAULT_POLICY.tier2.severity_bands;
    expect([0.1, 0.3, 0.6, 0.9, 0.99].map((p) => severityOf(p, bands))).toEqual(['none', 'low', 'medium', 'high', 'critical']);
  });

  it('keeps escalations waiting in the log, not in the DLQ, while the encoder cannot load', async () => {
    const failing = tier2Topology({
      policies: { get: async () => DEFAULT_POLICY },
      encoder: Promise.reject(new Error('model.onnx is missing')),
      models: (e) => createModelRegistry({ encoderSha256: e.modelSha256 }),
    });
    // its own log, so that the working tier of this file does not take the record
    const ownDir = mkdtempSync(join(tmpdir(), 'metronis-tier2-failing-'));
    const own = await createEmbeddedLog({ dir: ownDir });
    try {
      await own.admin.createTopics(topologyTopics(failing, { dlqPartitions: 1 }));
      const waiting = runTopology(failing, { log: own, serde, logger: quiet, retry: { initialMs: 5, maxMs: 20 }, consumer: { maxWaitMs: 20 } });
      const e = escalationOf(traceOf(newOrg(), EXPLOSIVE));
      await own.producer().send([{ topic: TOPICS.escalationsTier2.name, key: e.trace.trace_id, value: (await serde.forTopic(TOPICS.escalationsTier2)).encode(e) }]);
      const deadline = Date.now() + 10_000;
      while (waiting.stats().retries < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await waiting.stop();
      expect(waiting.stats()).toMatchObject({ processed: 0, dlq: 0 });
      expect(waiting.stats().retries).toBeGreaterThanOrEqual(3);
      const dlq = own.consumer({ groupId: 'dlq-reader', topics: [DLQ_TOPIC], maxWaitMs: 20 });
      const batch = await dlq.batches()[Symbol.asyncIterator]().next();
      expect(batch.value ?? []).toEqual([]);
      await dlq.close();
    } finally {
      await own.close();
      rmSync(ownDir, { recursive: true, force: true });
    }
  });
});
