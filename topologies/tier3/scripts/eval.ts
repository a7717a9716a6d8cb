/**
 * `npm run eval:tier3 -- --provider <openai|anthropic|openai_compatible|scripted> --model <name> [--base-url <url>]
 *   [--api chat|responses] [--fixture <file.json>] [--limit N] [--concurrency N] [--rounds 1000] [--seed 1] [--out report.json]`
 *
 * Scores PyRIT's human-judged (objective, response) pairs with the judge's `harm` criterion (prompt
 * `harm@v1`, the same code the topology runs) and reports, against the humans, mean absolute error,
 * Krippendorff's alpha (interval) and quadratic-weighted kappa with 95% bootstrap intervals, next to the
 * humans' agreement with each other on the three-rater files.
 *
 * The key comes from METRONIS_JUDGE_API_KEY (or OPENAI_API_KEY / ANTHROPIC_API_KEY). `--provider
 * scripted` starts the local scripted server and answers from a seeded rule (a human's score moved by
 * at most one step): it proves the harness end to end and measures nothing about any model. No real
 * model is reachable from the project's development machines; the real figure is the user's to run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makeTrace } from '@metronis/schemas';
import { bootstrap, krippendorffAlpha, mae, seededRandom, weightedKappa, type Interval } from '../src/agreement.js';
import { createConcurrencyLimiter, createPriceTable, createProvider, DEFAULT_RETRY_RULES, judgeCriterion, type ProviderKind } from '../src/index.js';
import { startScriptedServer } from '../src/scripted-server.js';

interface Item {
  source: string;
  category: string;
  objective: string;
  response: string;
  human_scores: number[];
}

const { values } = parseArgs({
  options: {
    provider: { type: 'string' },
    model: { type: 'string' },
    'base-url': { type: 'string' },
    api: { type: 'string', default: 'chat' },
    fixture: { type: 'string', default: new URL('../eval/pyrit-harm-3raters.json', import.meta.url).pathname },
    limit: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});

function fail(message: string): never {
  process.stderr.write(`eval:tier3: ${message}\n`);
  process.exit(2);
}

const PROVIDERS = ['openai', 'anthropic', 'openai_compatible', 'scripted'] as const;
const providerName = values.provider as (typeof PROVIDERS)[number] | undefined;
if (providerName === undefined || !PROVIDERS.includes(providerName)) fail(`--provider must be one of ${PROVIDERS.join(', ')}`);
if (values.model === undefined && providerName !== 'scripted') fail('--model is required');
if (values.api !== 'chat' && values.api !== 'responses') fail('--api must be chat or responses');
const positive = (name: string, text: string | undefined) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer`);
  return n;
};

const fixture = JSON.parse(readFileSync(values.fixture!, 'utf8')) as { source: string; items: Item[] };
const items = values.limit === undefined ? fixture.items : fixture.items.slice(0, positive('limit', values.limit));
const rounds = positive('rounds', values.rounds);
const seed = positive('seed', values.seed);

let baseUrl = values['base-url'];
let kind: ProviderKind;
let close = async () => {};
if (providerName === 'scripted') {
  // A seeded rule, not a model: the first human's score moved by -1, 0, 0 or +1 step.
  const server = await startScriptedServer();
  const random = seededRandom(seed);
  const byResponse = new Map(items.map((i) => [i.response.slice(0, 200), i]));
  server.fallback = (request) => {
    const text = JSON.stringify(request.body);
    const item = [...byResponse.entries()].find(([key]) => text.includes(JSON.stringify(key).slice(1, -1)))?.[1];
    const human = Math.round((item?.human_scores[0] ?? 0) * 4) + 1;
    const rating = Math.min(5, Math.max(1, human + [-1, 0, 0, 1][Math.floor(random() * 4)]!));
    return { judgment: { rating, label: rating === 1 ? 'none' : 'other', rationale: 'scripted' } };
  };
  baseUrl = `${server.url}/v1`;
  kind = 'openai_compatible';
  close = () => server.close();
} else {
  kind = providerName;
}
const apiKey = process.env.METRONIS_JUDGE_API_KEY ?? (kind === 'anthropic' ? process.env.ANTHROPIC_API_KEY : process.env.OPENAI_API_KEY) ?? (providerName === 'scripted' || kind === 'openai_compatible' ? 'none' : undefined);
if (apiKey === undefined) fail('set METRONIS_JUDGE_API_KEY (or OPENAI_API_KEY / ANTHROPIC_API_KEY)');

const provider = createProvider({ provider: kind, model: values.model ?? 'scripted', apiKey, baseUrl, api: values.api as 'chat' | 'responses' });
const deps = {
  budget: { reserve: async () => ({ settle: async () => {} }) },
  cache: { get: async () => null, put: async () => {} },
  limiter: createConcurrencyLimiter(positive('concurrency', values.concurrency)),
  prices: createPriceTable(),
  retry: DEFAULT_RETRY_RULES,
  maxOutputTokens: 600,
};

process.stderr.write(`judging ${items.length} items from ${fixture.source} with ${providerName}/${values.model ?? 'scripted'}\n`);
let done = 0;
let tokens = 0;
let cost = 0;
const failures: string[] = [];
const judged = await Promise.all(
  items.map(async (item, index) => {
    const trace = makeTrace({ org_id: 'eval', trace_id: `pyrit-${index}`, input: { text: item.objective, messages: [] }, output: { content: item.response, finish_reason: 'stop' } });
    const outcome = await judgeCriterion({ orgId: 'eval', criterion: 'harm', version: 'v1', trace, provider }, deps);
    if (++done % 25 === 0) process.stderr.write(`  ${done}/${items.length}\n`);
    if (outcome.kind !== 'judged') {
      failures.push(`${index}: ${outcome.kind}${'reason' in outcome ? ` (${outcome.reason})` : ''}`);
      return null;
    }
    tokens += outcome.usage.input_tokens + outcome.usage.output_tokens;
    cost += outcome.cost;
    return { item, judge: (outcome.judgment.rating - 1) / 4 };
  }),
);
await close();
const scored = judged.filter((j): j is { item: Item; judge: number } => j !== null);
if (scored.length === 0) fail(`no item was judged: ${failures.slice(0, 5).join('; ')}`);

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const opts = { rounds, seed };
type Row = { item: Item; judge: number };
/** Judge vs each human rater (pairwise, averaged over raters), the same definition as human vs human. */
const pairwise = (rows: readonly Row[], stat: (a: number[], b: number[]) => number, pairs: (r: Row) => [number, number][]) => {
  const byRater = new Map<number, [number[], number[]]>();
  for (const row of rows) pairs(row).forEach(([a, b], k) => {
    const entry = byRater.get(k) ?? [[], []];
    entry[0].push(a);
    entry[1].push(b);
    byRater.set(k, entry);
  });
  const values = [...byRater.values()].map(([a, b]) => stat(a, b)).filter(Number.isFinite);
  return values.reduce((s, v) => s + v, 0) / values.length;
};
const judgeHuman = (r: Row): [number, number][] => r.item.human_scores.map((h) => [r.judge, h]);
const humanHuman = (r: Row): [number, number][] => {
  const h = r.item.human_scores;
  const out: [number, number][] = [];
  for (let i = 0; i < h.length; i++) for (let j = i + 1; j < h.length; j++) out.push([h[i]!, h[j]!]);
  return out;
};
const multi = scored.filter((r) => r.item.human_scores.length >= 3);

const report = {
  judge: { provider: providerName, model: values.model ?? 'scripted', api: values.api, prompt: 'harm@v1', scripted: providerName === 'scripted' },
  data: { source: fixture.source, items: items.length, judged: scored.length, failed: failures.length, three_rater_items: multi.length },
  usage: { tokens, cost_usd: Math.round(cost * 1e6) / 1e6 },
  judge_vs_humans: {
    mae: bootstrap(scored, (s) => pairwise(s, mae, judgeHuman), opts),
    krippendorff_alpha: bootstrap(scored, (s) => pairwise(s, (a, b) => krippendorffAlpha(a.map((x, i) => [x, b[i]!])), judgeHuman), opts),
    weighted_kappa: bootstrap(scored, (s) => pairwise(s, weightedKappa, judgeHuman), opts),
    mae_vs_median_human: bootstrap(scored, (s) => mae(s.map((r) => r.judge), s.map((r) => median(r.item.human_scores))), opts),
  },
  human_vs_human: multi.length === 0 ? null : {
    mae: bootstrap(multi, (s) => pairwise(s, mae, humanHuman), opts),
    krippendorff_alpha: bootstrap(multi, (s) => pairwise(s, (a, b) => krippendorffAlpha(a.map((x, i) => [x, b[i]!])), humanHuman), opts),
    weighted_kappa: bootstrap(multi, (s) => pairwise(s, weightedKappa, humanHuman), opts),
    krippendorff_alpha_three_raters: bootstrap(multi, (s) => krippendorffAlpha(s.map((r) => r.item.human_scores)), opts),
  },
  failures: failures.slice(0, 20),
};

const fmt = (i: Interval | undefined) => (i === undefined ? '—' : `${i.value.toFixed(3)} [${i.low.toFixed(3)}, ${i.high.toFixed(3)}]`);
const lines = [
  `| pairwise, 95% bootstrap interval | judge vs human | human vs human |`,
  `| --- | --- | --- |`,
  `| mean absolute error (0..1 scale) | ${fmt(report.judge_vs_humans.mae)} | ${fmt(report.human_vs_human?.mae)} |`,
  `| Krippendorff's alpha (interval) | ${fmt(report.judge_vs_humans.krippendorff_alpha)} | ${fmt(report.human_vs_human?.krippendorff_alpha)} |`,
  `| weighted kappa (quadratic) | ${fmt(report.judge_vs_humans.weighted_kappa)} | ${fmt(report.human_vs_human?.weighted_kappa)} |`,
  '',
  `three-rater alpha among the humans: ${fmt(report.human_vs_human?.krippendorff_alpha_three_raters)}; judge vs the median human, MAE ${fmt(report.judge_vs_humans.mae_vs_median_human)}`,
  `${scored.length}/${items.length} judged${failures.length ? `, ${failures.length} failed (first: ${failures[0]})` : ''}; ${tokens} tokens, $${report.usage.cost_usd}`,
  ...(providerName === 'scripted' ? ['', 'SCRIPTED JUDGE: a seeded rule on the local server, not a model. These figures prove the harness, nothing more.'] : []),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
