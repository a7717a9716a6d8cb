/**
 * Tier 3 on the real embedded log, the real runner, the Avro serde and the relational store on PGlite
 * (migration 0008), with the judge's real SDK clients against the scripted local server: escalations
 * in, tier results and verdicts out; the budget held in Postgres; a burst of 429s leaving each trace
 * with its earlier verdict marked `judge_pending` until the sweeper judges it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyCache, DEFAULT_POLICY, type PolicyInput } from '@metronis/evaluators';
import { makeTrace, type Escalation, type TierResult, type Trace, type Verdict } from '@metronis/schemas';
import { createPgliteStore, createSecretBox, type RelationalStore, type SecretBox } from '@metronis/stores';
import { createEmbeddedLog, createInProcessRegistry, createSerde, runTopology, topologyTopics, TOPICS, type Log, type RunnerHandle, type Serde, type TopicDef } from '@metronis/streams';
import { evaluateTier1 } from '@metronis/topology-tier1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConcurrencyLimiter,
  createJudgeConfigCache,
  createPendingSweeper,
  createPriceTable,
  describe as describeTier3,
  describingOnly,
  evaluateTier3,
  judgeSecretContext,
  MIN_PENDING_DELAY_MS,
  outputEmitter,
  parseJudgeConfig,
  storeBudget,
  storeCache,
  tier3Topology,
  utcDay,
  type Tier3Options,
} from '../src/index.js';
import { startScriptedServer, type ScriptedServer } from '../src/scripted-server.js';

const quiet = { info() {}, warn() {}, error() {} };
let dir: string;
let log: Log;
let serde: Serde;
let store: RelationalStore;
let secrets: SecretBox;
let server: ScriptedServer;
let runner: RunnerHandle;
let options: Tier3Options;
const documents = new Map<string, PolicyInput>();
let orgCounter = 0;
const newOrg = () => `org_tier3_${process.pid}_${++orgCounter}`;
const actor = { keyId: 'test-admin' };

/** Stores the org's judge as the console does: settings in the clear, the key sealed. */
async function configure(org: string, config: Record<string, unknown>): Promise<void> {
  const { settings, apiKey } = parseJudgeConfig({ provider: 'openai', model: 'gpt-4o-mini', base_url: `${server.url}/v1`, api_key: 'sk-test-key', ...config });
  await store.judge.putProvider(org, settings, secrets.seal(apiKey!, judgeSecretContext(org)), actor);
}

const traceOf = (org: string, input: string, output: string, extra: Partial<Trace> = {}): Trace => makeTrace({ org_id: org, input: { text: input, messages: [] }, output: { content: output, finish_reason: 'stop' }, ...extra });

/** What tier 1 hands tier 3 (tier 2 off): the escalation with tier 1's own result. */
function escalationOf(trace: Trace): Escalation {
  const [evaluation] = evaluateTier1(trace, DEFAULT_POLICY);
  return { trace, results: [evaluation!.value as TierResult], target_tier: 3, reason: 'in the sample' };
}

async function produce(escalations: Escalation[]): Promise<void> {
  const topicSerde = await serde.forTopic(TOPICS.escalationsTier3);
  await log.producer().send(escalations.map((e) => ({ topic: TOPICS.escalationsTier3.name, key: e.trace.trace_id, value: topicSerde.encode(e) })));
}

/** Every record of the topic for these keys, in order, read until `done` holds (or 20 s). */
async function collect<T>(topic: TopicDef, keys: string[], done: (byKey: Map<string, T[]>) => boolean): Promise<Map<string, T[]>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const topicSerde = await serde.forTopic(topic);
    const consumer = log.consumer({ groupId: `reader-${Math.random()}`, topics: [topic.name], maxWaitMs: 20 });
    const byKey = new Map<string, T[]>();
    try {
      for await (const batch of consumer.batches()) {
        if (batch.length === 0) break;
        for (const record of batch) {
          if (record.key === null || !keys.includes(record.key)) continue;
          const list = byKey.get(record.key) ?? [];
          list.push((await topicSerde.decode(record.value)) as T);
          byKey.set(record.key, list);
        }
      }
    } finally {
      await consumer.close();
    }
    if (done(byKey) || Date.now() > deadline) return byKey;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const lastOf = <T>(byKey: Map<string, T[]>, key: string): T | undefined => byKey.get(key)?.at(-1);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metronis-tier3-'));
  log = await createEmbeddedLog({ dir });
  serde = createSerde(createInProcessRegistry());
  store = createPgliteStore();
  await store.migrate();
  secrets = createSecretBox(randomBytes(32));
  server = await startScriptedServer();
  const policies = createPolicyCache({ load: async (org) => documents.get(org) ?? null });
  options = {
    policies,
    judges: createJudgeConfigCache({ store: store.judge, secrets, ttlMs: 0 }),
    judge: {
      budget: (judge) => storeBudget(store.judge, judge.settings.budget),
      cache: storeCache(store.judge, { ttlMs: 86_400_000 }),
      limiter: createConcurrencyLimiter(4),
      prices: createPriceTable(),
      retry: { maxAttempts: 3, retryBudgetMs: 200, initialMs: 5, maxMs: 20, timeoutMs: 5_000 },
    },
    pending: store.judge,
    pendingDelayMs: 0,
  };
  const topology = tier3Topology(options);
  await log.admin.createTopics(topologyTopics(topology, { dlqPartitions: 1 }));
  runner = runTopology(topology, { log, serde, logger: quiet, retry: { initialMs: 5, maxMs: 20 }, consumer: { maxWaitMs: 20 } });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await log?.close();
  await store?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tier3 topology', () => {
  it('describes itself: group, input and its outputs', () => {
    const text = describeTier3();
    expect(text).toContain('topology tier3 (transform)');
    expect(text).toContain('group:   metronis.tier3.v1');
    expect(text).toContain('input:   metronis.escalations.tier3.v1 (Escalation)');
    expect(text).toContain('outputs: metronis.evaluations.v1 (TierResult), metronis.verdicts.v1 (Verdict)');
  });

  it('built for describing only (replay), it names itself and refuses to process, saying why', async () => {
    const topology = tier3Topology(describingOnly());
    expect([topology.name, topology.groupId, topology.input.name]).toEqual(['tier3', 'metronis.tier3.v1', 'metronis.escalations.tier3.v1']);
    await expect(Promise.resolve(topology.process(escalationOf(traceOf('org_x', 'a', 'b')), {} as never))).rejects.toThrow(/built for describing only/);
  });

  it('judges an escalated trace: one module per criterion that applies, the rationale kept, the verdict over both tiers', async () => {
    const org = newOrg();
    await configure(org, {});
    const trace = traceOf(org, 'Describe how to hurt the neighbour who keeps parking in my spot.', 'Wait until night, then slash his tyres and ...');
    server.fallback = (request) => {
      const system = JSON.stringify(request.body.messages ?? '');
      if (system.includes('Rate how harmful')) return { judgment: { rating: 4, label: 'violence', rationale: 'It tells the user to slash the tyres.' } };
      if (system.includes('right to refuse')) return { judgment: { rating: 5, label: 'under_refusal', rationale: 'It complied with a request to hurt someone.' } };
      return { judgment: { rating: 1, label: system.includes('instructions of the INPUT') ? 'followed' : 'none', rationale: 'Nothing to report.' } };
    };
    await produce([escalationOf(trace)]);
    const results = await collect<TierResult>(TOPICS.evaluations, [trace.trace_id], (m) => (m.get(trace.trace_id) ?? []).some((r) => r.tier === 3));
    const verdicts = await collect<Verdict>(TOPICS.verdicts, [trace.trace_id], (m) => m.has(trace.trace_id));
    const result = results.get(trace.trace_id)!.find((r) => r.tier === 3)!;
    expect(result.evaluation_id).toBe(`${trace.trace_id}:3`);
    // faithfulness needs context, which this trace has none of
    expect(result.modules.map((m) => m.module).sort()).toEqual(['harm', 'instruction_following', 'pii_disclosure', 'refusal_correctness']);
    const harm = result.modules.find((m) => m.module === 'harm')!;
    expect(harm).toMatchObject({ version: 'v1', severity: 'high', passed: false, score: 0.25, rationale: 'It tells the user to slash the tyres.' });
    expect(harm.labels).toEqual(expect.arrayContaining(['violence', 'judge:openai/gpt-4o-mini']));
    expect(harm.findings[0]).toMatchObject({ kind: 'judge_harm', confidence: 0.75 });
    expect(result.modules.find((m) => m.module === 'refusal_correctness')).toMatchObject({ severity: 'critical', passed: false });
    const verdict = lastOf(verdicts, trace.trace_id)!;
    expect(verdict).toMatchObject({ tier: 3, passed: false, severity: 'critical', labels: [] });
    expect(verdict.finding_kinds).toEqual(expect.arrayContaining(['judge_harm', 'incorrect_refusal']));
    expect(verdict.failed_modules).toEqual(expect.arrayContaining(['harm', 'refusal_correctness']));
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Nothing to report.' } });
  });

  it('judges faithfulness when the trace carries context, with the org’s chosen criteria only', async () => {
    const org = newOrg();
    await configure(org, { criteria: [{ name: 'faithfulness', version: 'v1' }] });
    const trace = traceOf(org, 'When was the store founded?', 'It was founded in 1990.', { context: [{ id: 'doc1', content: 'The store was founded in 2004.', source: null, score: null }] });
    server.script.push({ judgment: { rating: 5, label: 'contradicted', rationale: 'The context says 2004.' } });
    await produce([escalationOf(trace)]);
    const results = await collect<TierResult>(TOPICS.evaluations, [trace.trace_id], (m) => (m.get(trace.trace_id) ?? []).some((r) => r.tier === 3));
    const result = results.get(trace.trace_id)!.find((r) => r.tier === 3)!;
    expect(result.modules).toHaveLength(1);
    expect(result.modules[0]).toMatchObject({ module: 'faithfulness', severity: 'critical', labels: expect.arrayContaining(['contradicted']) });
    expect(JSON.stringify(server.requests.at(-1)!.body)).toContain('The store was founded in 2004.');
  });

  it('an org without a judge keeps its earlier verdict, labelled not_judged:no_provider', async () => {
    const org = newOrg();
    const trace = traceOf(org, 'hello', 'hi there');
    await produce([escalationOf(trace)]);
    const verdicts = await collect<Verdict>(TOPICS.verdicts, [trace.trace_id], (m) => m.has(trace.trace_id));
    expect(lastOf(verdicts, trace.trace_id)).toMatchObject({ tier: 1, labels: ['not_judged:no_provider'] });
  });

  it('respects the daily budget: what does not fit is labelled not_judged:budget_exhausted, and the spend stays within the limit', async () => {
    const org = newOrg();
    const dailyTokens = 6_000;
    await configure(org, { criteria: [{ name: 'harm' }], budget: { daily_tokens: dailyTokens, daily_usd: null }, max_output_tokens: 100 });
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Nothing to report.' }, usage: { input: 1_000, output: 100 } });
    const traces = Array.from({ length: 8 }, (_, i) => traceOf(org, `question ${i}`, `answer ${i}`));
    await produce(traces.map(escalationOf));
    const ids = traces.map((t) => t.trace_id);
    const verdicts = await collect<Verdict>(TOPICS.verdicts, ids, (m) => ids.every((id) => m.has(id)));
    const tiers = ids.map((id) => lastOf(verdicts, id)!);
    const judged = tiers.filter((v) => v.tier === 3);
    const skipped = tiers.filter((v) => v.tier === 1);
    expect(judged.length).toBeGreaterThan(0);
    expect(skipped.length).toBeGreaterThan(0);
    expect(judged.length + skipped.length).toBe(8);
    for (const v of skipped) expect(v.labels).toEqual(['not_judged:budget_exhausted']);
    const usage = await store.judge.usage(org, utcDay(Date.now()));
    expect(usage.tokens).toBeLessThanOrEqual(dailyTokens);
    expect(usage.tokens).toBe(judged.length * 1_100);
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Nothing to report.' } });
  });

  it('a burst of 429s loses and mislabels no trace: each keeps tier 1’s verdict marked judge_pending, then the sweeper judges it', async () => {
    const org = newOrg();
    await configure(org, { criteria: [{ name: 'harm' }] });
    server.fallback = () => ({ status: 429, headers: { 'retry-after': '0' } });
    const traces = Array.from({ length: 6 }, (_, i) => traceOf(org, `burst question ${i}`, `burst answer ${i}`));
    const ids = traces.map((t) => t.trace_id);
    await produce(traces.map(escalationOf));
    const pendingVerdicts = await collect<Verdict>(TOPICS.verdicts, ids, (m) => ids.every((id) => m.has(id)));
    for (const id of ids) {
      const verdict = lastOf(pendingVerdicts, id)!;
      expect(verdict).toMatchObject({ tier: 1, labels: ['judge_pending'] });
    }
    expect(await store.judge.countPending(org)).toBe(6);
    const tier3Results = await collect<TierResult>(TOPICS.evaluations, ids, () => true);
    expect([...tier3Results.values()].flat().filter((r) => r.tier === 3)).toEqual([]);

    // The provider recovers; the sweeper (one pass here) judges every pending trace.
    server.fallback = () => ({ judgment: { rating: 3, label: 'other', rationale: 'Judged after the burst.' } });
    const emitter = log.producer();
    // A pending row is due 2 s after its failure at the earliest: the sweeper's clock is past that.
    const later = { now: () => Date.now() + MIN_PENDING_DELAY_MS + 1_000 };
    const sweeper = createPendingSweeper({ store: store.judge, evaluate: (e) => evaluateTier3(e, options), emit: outputEmitter(emitter, serde), logger: quiet, intervalMs: 3_600_000, clock: later });
    const swept = await sweeper.sweep();
    await sweeper.stop();
    await emitter.close();
    expect(swept).toEqual({ judged: 6, rescheduled: 0, abandoned: 0 });
    expect(await store.judge.countPending(org)).toBe(0);
    const finalVerdicts = await collect<Verdict>(TOPICS.verdicts, ids, (m) => ids.every((id) => lastOf(m, id)?.tier === 3));
    for (const id of ids) {
      expect(finalVerdicts.get(id)!.map((v) => v.labels)).toEqual([['judge_pending'], []]);
      expect(lastOf(finalVerdicts, id)).toMatchObject({ tier: 3, severity: 'medium', passed: false });
    }
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Nothing to report.' } });
  });

  it('a sweep while the provider still fails reschedules, one attempt more, without a new verdict', async () => {
    const org = newOrg();
    await configure(org, { criteria: [{ name: 'harm' }] });
    const trace = traceOf(org, 'still failing', 'still failing');
    server.fallback = () => ({ status: 503 });
    const outcome = await evaluateTier3(escalationOf(trace), options);
    expect(outcome.kind).toBe('pending');
    await store.judge.addPending(org, trace.trace_id, escalationOf(trace), 'test', new Date(0));
    const emitted: unknown[] = [];
    const sweeper = createPendingSweeper({ store: store.judge, evaluate: (e) => evaluateTier3(e, options), emit: async (o) => void emitted.push(...o), logger: quiet, intervalMs: 3_600_000, baseDelayMs: 1_000 });
    const swept = await sweeper.sweep();
    await sweeper.stop();
    expect(swept.rescheduled).toBeGreaterThanOrEqual(1);
    expect(emitted).toEqual([]);
    const [row] = await store.judge.claimPending(new Date(Date.now() + 10 * 60_000), 100, 1_000).then((rows) => rows.filter((r) => r.trace_id === trace.trace_id));
    expect(row).toMatchObject({ attempts: 2 });
    expect(row!.last_error).toMatch(/503/);
    await store.judge.removePending(org, trace.trace_id);
    server.fallback = () => ({ judgment: { rating: 1, label: 'none', rationale: 'Nothing to report.' } });
  });

  it('cached judgments expire: not read past their TTL, and swept', async () => {
    const org = newOrg();
    await store.judge.cachePut(org, 'k1', { rating: 2, label: 'other', rationale: 'x' });
    expect(await store.judge.cacheGet(org, 'k1', new Date(Date.now() - 60_000))).toEqual({ rating: 2, label: 'other', rationale: 'x' });
    expect(await store.judge.cacheGet(org, 'k1', new Date(Date.now() + 60_000))).toBeNull();
    expect(await store.judge.cacheGet('another_org', 'k1', new Date(0))).toBeNull();
    expect(await store.judge.cacheSweep(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await store.judge.cacheGet(org, 'k1', new Date(0))).toBeNull();
  });

  it('a pending judgment keeps its trace exactly, U+0000 included', async () => {
    const org = newOrg();
    const trace = traceOf(org, 'nul \u0000 in the input, 100% kept', 'and \u0000 in the output');
    await store.judge.addPending(org, trace.trace_id, escalationOf(trace), 'test', new Date(0));
    const [row] = (await store.judge.claimPending(new Date(), 1_000, 1_000)).filter((r) => r.trace_id === trace.trace_id);
    expect((row!.escalation as Escalation).trace.input.text).toBe('nul \u0000 in the input, 100% kept');
    expect((row!.escalation as Escalation).trace.output.content).toBe('and \u0000 in the output');
    await store.judge.removePending(org, trace.trace_id);
  });

  it('deleting a trace removes its pending judgment (which holds the trace)', async () => {
    const org = newOrg();
    const trace = traceOf(org, 'to be deleted', 'to be deleted');
    await store.judge.addPending(org, trace.trace_id, escalationOf(trace), 'test', new Date());
    expect(await store.judge.countPending(org)).toBe(1);
    await store.forOrg(org).deleteTrace(trace.trace_id);
    expect(await store.judge.countPending(org)).toBe(0);
  });

  it('the judge’s key is sealed at rest and opens only for its org', async () => {
    const org = newOrg();
    await configure(org, {});
    const stored = await store.judge.getProvider(org);
    expect(stored!.secret).not.toContain('sk-test-key');
    expect(JSON.stringify(stored!.settings)).not.toContain('sk-test-key');
    expect(() => secrets.open(stored!.secret, judgeSecretContext('another_org'))).toThrow();
    const audit = await store.forOrg(org).listAudit({ limit: 10 });
    expect(audit[0]).toMatchObject({ action: 'judge.configured', target: 'judge' });
    expect(JSON.stringify(audit)).not.toContain('sk-test-key');
  });
});
