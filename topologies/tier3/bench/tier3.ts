/**
 * Tier 3's own overhead, without a model's latency: escalations through `evaluateTier3` with the real
 * SDK client against the local scripted server (answering at once), the budget, cache and pending
 * store on PGlite. Reports judgments per second and the per-escalation p50/p99 with the cache cold
 * and warm, next to the bare SDK calls (one per criterion) against the same server in the same run.
 * Run it on a quiet machine:
 *
 *   node --conditions=source --import tsx topologies/tier3/bench/tier3.ts [escalations=400] [criteria=2]
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_POLICY } from '@metronis/evaluators';
import { makeTrace, type Escalation } from '@metronis/schemas';
import { createPgliteStore, createSecretBox } from '@metronis/stores';
import OpenAI from 'openai';
import {
  createConcurrencyLimiter,
  createJudgeConfigCache,
  createPriceTable,
  CRITERION_NAMES,
  DEFAULT_RETRY_RULES,
  evaluateTier3,
  judgeSecretContext,
  parseJudgeConfig,
  storeBudget,
  storeCache,
} from '../src/index.js';
import { startScriptedServer } from '../src/scripted-server.js';

const count = Number(process.argv[2] ?? 400);
const criteria = Math.min(CRITERION_NAMES.length, Number(process.argv[3] ?? 2));
const server = await startScriptedServer();
const store = createPgliteStore();
await store.migrate();
const secrets = createSecretBox(randomBytes(32));
const org = 'bench_org';
const { settings, apiKey } = parseJudgeConfig({ provider: 'openai', model: 'gpt-4o-mini', base_url: `${server.url}/v1`, api_key: 'sk-bench', criteria: CRITERION_NAMES.slice(0, criteria).map((name) => ({ name })), budget: { daily_tokens: null, daily_usd: null } });
await store.judge.putProvider(org, settings, secrets.seal(apiKey!, judgeSecretContext(org)), { keyId: 'bench' });
const options = {
  policies: { get: async () => DEFAULT_POLICY },
  judges: createJudgeConfigCache({ store: store.judge, secrets }),
  judge: { budget: () => storeBudget(store.judge, { daily_tokens: null, daily_usd: null }), cache: storeCache(store.judge, { ttlMs: 86_400_000 }), limiter: createConcurrencyLimiter(8), prices: createPriceTable(), retry: DEFAULT_RETRY_RULES },
};
const escalations: Escalation[] = Array.from({ length: count }, (_, i) => ({
  trace: makeTrace({ org_id: org, input: { text: `question ${i}: how do I configure the router?`, messages: [] }, output: { content: `answer ${i}: open the admin page and set the channel.`, finish_reason: 'stop' } }),
  results: [],
  target_tier: 3,
  reason: 'bench',
}));

/** Same-run baseline: the bare SDK call per criterion against the same server, no budget, cache or store. */
const sdk = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-bench', maxRetries: 0 });
const bare = async (e: Escalation) => {
  await Promise.all(
    Array.from({ length: criteria }, () => sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${e.trace.input.text}\n${e.trace.output.content}` }] })),
  );
};

async function round(label: string, judge: (e: Escalation) => Promise<unknown> = (e) => evaluateTier3(e, options)): Promise<void> {
  const latencies: number[] = [];
  const started = performance.now();
  // 8 escalations at once, as the topology's consumer judges them.
  for (let i = 0; i < escalations.length; i += 8) {
    await Promise.all(
      escalations.slice(i, i + 8).map(async (e) => {
        const t0 = performance.now();
        await judge(e);
        latencies.push(performance.now() - t0);
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
  process.stdout.write(`${label}: ${count} escalations × ${criteria} criteria in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(0)}/s); per escalation p50 ${at(0.5)} ms, p99 ${at(0.99)} ms\n`);
}

await round('baseline: the bare SDK calls', bare);
await round('cache cold');
await round('cache warm');
await store.close();
await server.close();
