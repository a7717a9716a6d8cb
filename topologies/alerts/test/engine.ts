/**
 * The alerts topology on real embedded parts, in this process: the embedded log in a temporary
 * folder, the in-process schema registry, PGlite with the repository's migrations, the real runner,
 * the real adapters (short retry schedules) and loops with short periods.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TierResult, Verdict } from '@metronis/schemas';
import { createEgressPolicy, createPgliteStore, createSecretBox, generateSecretsKey, parseSecretsKey, type RelationalStore, type SecretBox } from '@metronis/stores';
import { createEmbeddedLog, createInProcessRegistry, createSerde, runTopology, TOPICS, type Log, type RunnerHandle, type Serde } from '@metronis/streams';
import { pino } from 'pino';
import { alertProducer, alertsTopologies, createAlertConfigCache, createChannelAdapters, sealChannel, startAlertsLoops, channelInputSchema, ruleSchema, type AlertConfigCache, type AlertsRuntime } from '../src/index.js';

export interface Engine {
  store: RelationalStore;
  log: Log;
  serde: Serde;
  box: SecretBox;
  config: AlertConfigCache;
  runtime: AlertsRuntime;
  runners: RunnerHandle[];
  logLines: string[];
  produceVerdicts(verdicts: Verdict[]): Promise<void>;
  produceEvaluations(results: TierResult[]): Promise<void>;
  addChannel(orgId: string, id: string, input: unknown): Promise<void>;
  addRule(orgId: string, id: string, document: unknown): Promise<void>;
  close(): Promise<void>;
}

export async function startEngine(options: { dispatchIntervalMs?: number; tickIntervalMs?: number; reassertMs?: number } = {}): Promise<Engine> {
  const dir = await mkdtemp(join(tmpdir(), 'metronis-alerts-'));
  const logLines: string[] = [];
  const logger = pino({ level: 'debug', base: null }, { write: (line: string) => void logLines.push(line) });
  const log = await createEmbeddedLog({ dir: join(dir, 'log') });
  await log.admin.createTopics([TOPICS.verdicts, TOPICS.evaluations, TOPICS.alerts].map((t) => ({ name: t.name, partitions: t.partitions })).concat([{ name: 'metronis.dlq.v1', partitions: 1 }]));
  const registry = await createInProcessRegistry({ file: join(dir, 'registry.json') });
  const serde = createSerde(registry);
  const store = createPgliteStore();
  await store.migrate();
  const box = createSecretBox(parseSecretsKey(generateSecretsKey()));
  const config = createAlertConfigCache({ store: store.alerts, ttlMs: 100 });
  const producer = log.producer();
  const runtime: AlertsRuntime = {
    store,
    secrets: box,
    config,
    adapters: createChannelAdapters({ timeoutMs: 1_000, egress: createEgressPolicy({ allow: ['127.0.0.1'] }), retryDelaysMs: { pagerduty: [200, 400, 800], slack: [200, 400], webhook: [200, 400], email: [200, 400] } }),
    alerts: alertProducer(producer, () => serde.forTopic(TOPICS.alerts)),
    logger,
    dispatchIntervalMs: options.dispatchIntervalMs ?? 100,
    tickIntervalMs: options.tickIntervalMs ?? 200,
    reassertMs: options.reassertMs ?? 1_000,
    leaseMs: 5_000,
  };
  const runners = alertsTopologies(runtime).map((t) => runTopology(t, { log, serde, logger, retry: { initialMs: 50, maxMs: 500 } }));
  const loops = startAlertsLoops(runtime);
  const verdicts = await serde.forTopic(TOPICS.verdicts);
  const evaluations = await serde.forTopic(TOPICS.evaluations);
  const actor = { keyId: 'test' };
  return {
    store,
    log,
    serde,
    box,
    config,
    runtime,
    runners,
    logLines,
    async produceVerdicts(list) {
      for (let i = 0; i < list.length; i += 500) {
        await producer.send(list.slice(i, i + 500).map((v) => ({ topic: TOPICS.verdicts.name, key: v.trace_id, value: verdicts.encode(v) })));
      }
    },
    async produceEvaluations(list) {
      await producer.send(list.map((r) => ({ topic: TOPICS.evaluations.name, key: r.trace_id, value: evaluations.encode(r) })));
    },
    async addChannel(orgId, id, input) {
      const sealed = sealChannel(box, orgId, id, channelInputSchema.parse(input));
      await store.alerts.forOrg(orgId).createChannel(sealed.channel, actor);
    },
    async addRule(orgId, id, document) {
      await store.alerts.forOrg(orgId).createRule(id, ruleSchema.parse(document), actor);
      config.invalidate(orgId);
    },
    async close() {
      await loops.stop();
      await Promise.all(runners.map((r) => r.stop()));
      await producer.close();
      await log.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
export function makeVerdict(overrides: Partial<Verdict> = {}): Verdict {
  seq++;
  return {
    trace_id: `trace-${Date.now()}-${seq}`,
    org_id: 'org_test',
    tier: 1,
    decided_at: Date.now(),
    passed: false,
    severity: 'critical',
    score: 0.1,
    finding_kinds: ['private_key'],
    failed_modules: ['safety'],
    application: 'support-bot',
    environment: 'prod',
    model_provider: 'openai',
    model_name: 'gpt-4o-mini',
    tags: [],
    ...overrides,
  };
}

export function makeTierResult(orgId: string, qualityScore: number, overrides: Partial<TierResult> = {}): TierResult {
  seq++;
  const traceId = `trace-${Date.now()}-${seq}`;
  const module = (name: string, score: number) => ({ module: name, version: '1.0.0', passed: score >= 0.5, score, severity: score >= 0.5 ? ('none' as const) : ('medium' as const), labels: [], findings: [], latency_us: 10 });
  return {
    evaluation_id: `${traceId}:1`,
    trace_id: traceId,
    org_id: orgId,
    tier: 1,
    evaluated_at: Date.now(),
    trace_timestamp: Date.now(),
    passed: qualityScore >= 0.5,
    severity: qualityScore >= 0.5 ? 'none' : 'medium',
    score: qualityScore,
    modules: [module('quality', qualityScore), module('format', 1)],
    latency_us: 50,
    application: 'support-bot',
    environment: 'prod',
    model_provider: 'openai',
    model_name: 'gpt-4o-mini',
    tags: [],
    ...overrides,
  };
}
