/**
 * Training step 4: the tier 2 section of EVALUATION.md, from a model's report (train.py: figures on
 * held-out sources) and from the model run here, in Node, on text nobody trained on: the hard
 * negatives of the Tier 1 corpus (evaluators/corpus, every case that expects no finding) and the
 * issue's two examples. Everything from the later-tiers marker on is replaced; tier 1's part is kept.
 *
 *   node --import tsx topologies/tier2/scripts/evaluation.ts <version> [model cache]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePolicy } from '@metronis/evaluators';
import { makeTrace, type TierResult, type Trace } from '@metronis/schemas';
import { loadCorpus } from '../../../evaluators/scripts/corpus.js';
import { LATER_TIERS_MARKER as MARKER } from '../../../evaluators/scripts/eval-main.js';
import { createModelRegistry, defaultModelCacheDir, evaluateTier2, listModelVersions, loadEncoder, UNCERTAIN_VERDICT_LABEL } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const [version, cache] = process.argv.slice(2);
if (!version) {
  process.stderr.write('usage: evaluation.ts <model version> [model cache]\n');
  process.exit(2);
}

interface HeadReport {
  fields: string[];
  texts: number;
  positives: number;
  benign: number;
  auroc: number;
  auroc_vs_benign: number;
  catch_at_1pct_benign_fpr: number;
  per_source: Record<string, { texts: number; positives: number; caught_at_1pct: number | null; false_alarms_at_1pct: number | null }>;
  /** From v3: per field, the calibrated probability at 1% false alarms and the shares at the default bands. */
  operating_points?: Record<string, { benign: number; positives: number; probability_at_1pct_benign: number; benign_at_medium: number; benign_at_high: number; positives_at_medium?: number; positives_at_high?: number }>;
}
type Report = {
  created: string;
  texts: number;
  near_duplicates_dropped: number;
  heads: Record<string, HeadReport>;
  sources: Record<string, { package: string; licence: string; what: string }>;
};
const reportOf = (v: string) => JSON.parse(readFileSync(join(root, 'topologies/tier2/models', v, 'report.json'), 'utf8')) as Report;
const report = reportOf(version);

const encoder = await loadEncoder({ cacheDir: cache ?? defaultModelCacheDir(process.env) });
const models = createModelRegistry({ encoderSha256: encoder.modelSha256 });
const policy = parsePolicy({ tier2: { model: version } });

/** Tier 2's result and whether its verdict says it was unsure, under the default policy (or, `decideAt: 'medium'`, the rule before the uncertain middle). */
async function tier2(trace: Trace, v = version, decideAt?: 'medium'): Promise<TierResult & { unsure: boolean }> {
  const p = v === version && decideAt === undefined ? policy : parsePolicy({ tier2: { model: v, ...(decideAt ? { decide_at: decideAt } : {}) } });
  const outputs = await evaluateTier2({ trace, results: [], target_tier: 2, reason: 'evaluation' }, p, encoder, models);
  return { ...(outputs[0]!.value as TierResult), unsure: ((outputs[1]!.value as { labels?: string[] }).labels ?? []).includes(UNCERTAIN_VERDICT_LABEL) };
}

// The Tier 1 corpus's hard negatives: realistic text built to tempt detectors, never trained on.
const negatives = loadCorpus(join(root, 'evaluators/corpus')).cases.filter((c) => c.kinds.length === 0);
const flagged: string[] = [];
const unsure: string[] = [];
const latencies: number[] = [];
const described = (id: string, result: TierResult) => `\`${id}\` (${result.severity}: ${result.modules.flatMap((m) => m.findings.map((f) => `${f.kind} ${f.confidence}`)).join(', ')})`;
for (const n of negatives) {
  const result = await tier2(n.trace);
  latencies.push(result.latency_us);
  if (!result.passed) flagged.push(described(n.id, result));
  else if (result.unsure) unsure.push(described(n.id, result));
}

const examples = JSON.parse(readFileSync(join(root, 'topologies/tier2/test/fixtures/examples.json'), 'utf8')) as Record<string, { input: string; output: string }>;
const exampleRows: string[] = [];
for (const [name, text] of Object.entries(examples)) {
  if (typeof text !== 'object') continue;
  const result = await tier2(makeTrace({ input: { text: text.input, messages: [] }, output: { content: text.output, finish_reason: 'stop' } }));
  const findings = result.modules.flatMap((m) => m.findings.map((f) => `${f.kind} ${f.confidence}`)).join(', ');
  exampleRows.push(`| ${name} | ${result.severity} | ${findings || '—'} |`);
}

// Every shipped version side by side: its own held-out figures (each on the corpus it was trained on)
// and, on the same text here, the hard negatives it fails and the examples' severities.
const versionRows: string[] = [];
for (const v of listModelVersions()) {
  const r = reportOf(v);
  let failed = 0;
  let unsureCount = 0;
  let failedBefore = 0;
  for (const n of negatives) {
    const result = await tier2(n.trace, v);
    if (!result.passed) failed++;
    if (result.unsure) unsureCount++;
    if (!(await tier2(n.trace, v, 'medium')).passed) failedBefore++;
  }
  const severities: string[] = [];
  for (const text of Object.values(examples)) {
    if (typeof text !== 'object') continue;
    severities.push((await tier2(makeTrace({ input: { text: text.input, messages: [] }, output: { content: text.output, finish_reason: 'stop' } }), v)).severity);
  }
  const head = (risk: string) => (r.heads[risk] ? `${r.heads[risk].auroc.toFixed(3)} / ${(r.heads[risk].catch_at_1pct_benign_fpr * 100).toFixed(1)}%` : '—');
  versionRows.push(`| ${v} | ${Object.keys(r.sources).length} sources, ${r.texts} texts | ${head('prompt_attack')} | ${head('harmful')} | ${head('toxicity')} | ${failed} of ${negatives.length} (${unsureCount} unsure) | ${failedBefore} | ${severities.join(', ')} |`);
}
await encoder.close();

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const lines: string[] = [
  MARKER,
  '',
  `# Tier 2 evaluation (model ${version})`,
  '',
  'The learned classifier (`topologies/tier2`): all-MiniLM-L6-v2 sentence embeddings and one calibrated',
  'logistic-regression head per risk (from v2, the harmful head reads an answer together with the mean',
  'vector of its request). Written by `npm run train:tier2` (training outside CI).',
  '',
  'The decision rule (from issue 15): a calibrated probability at the `medium` band (0.5) or more is a',
  'finding; tier 2 fails a trace alone from `tier2.decide_at` (default `high`, 0.85) or when a harmful',
  'request (`medium`) was answered (`low`). Below that, in the uncertain middle, it does not fail the',
  'trace: the trace goes to tier 3 when the org enables it, or else keeps the earlier tiers\' decision',
  'with the verdict label `tier2_uncertain` (the findings stay in the tier result).',
  '',
  `- Trained: ${report.created}; corpus: ${report.texts} texts from ${Object.keys(report.sources).length} sources, ${report.near_duplicates_dropped} near-duplicates across sources dropped.`,
  '- **Every figure is on held-out sources**: each source is scored by a head trained on all the *other*',
  '  sources (leave one source out), so a figure says how the head does on data from somewhere it has never',
  '  seen, which is harder than a random split (where copies of a jailbreak land on both sides).',
  '- Catch rate at 1% false alarms: the threshold that flags 1% of the benign texts (realistic traffic:',
  '  support and RAG answers, code, security discussions, summaries), and the share of positives above it.',
  '',
  '## Shipped versions compared',
  '',
  'Held-out figures are AUROC / catch rate at 1% false alarms, each version on its own corpus (a later',
  'corpus has more sources, benign and harmful, so its figures are not on the same texts); the last three',
  'columns are on the same text for every version, run here with the encoder\'s current settings (one run',
  'per chunk, the first and last window of a long text; v1 and v2 were trained on chunks embedded in padded',
  'batches, whose int8 vectors move a little with their batch: v2\'s violent example read `high` that way).',
  '',
  `| version | corpus | prompt_attack | harmful | toxicity | Tier 1 hard negatives failed (default policy) | failed when tier 2 failed from \`medium\` | examples (${Object.keys(examples).filter((k) => typeof examples[k] === 'object').join(', ')}) |`,
  '| --- | --- | --- | --- | --- | ---: | ---: | --- |',
  ...versionRows,
  '',
  '## Per risk',
  '',
  '| risk | fields | texts | positives | AUROC | AUROC vs benign only | catch rate at 1% false alarms |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...Object.entries(report.heads).map(
    ([risk, h]) => `| ${risk} | ${h.fields.join(', ')} | ${h.texts} | ${h.positives} | ${h.auroc.toFixed(3)} | ${h.auroc_vs_benign.toFixed(3)} | ${pct(h.catch_at_1pct_benign_fpr)} |`,
  ),
  '',
  ...(Object.values(report.heads).some((h) => h.operating_points)
    ? [
        '## Operating points per field (held-out sources, calibrated probabilities)',
        '',
        'What the decision rule does on sources a head never saw: the share of benign texts and of positives at',
        'the `medium` band (a finding; with tier 3 on, a trace for the judge) and at `high` (tier 2 fails the',
        'trace alone), and the probability at which 1% of the benign texts would be flagged.',
        '',
        '| risk | field | benign | positives | probability at 1% false alarms | benign ≥ medium | positives ≥ medium | benign ≥ high | positives ≥ high |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...Object.entries(report.heads).flatMap(([risk, h]) =>
          Object.entries(h.operating_points ?? {}).map(
            ([field, o]) =>
              `| ${risk} | ${field} | ${o.benign} | ${o.positives} | ${o.probability_at_1pct_benign.toFixed(3)} | ${pct(o.benign_at_medium)} | ${pct(o.positives_at_medium ?? null)} | ${pct(o.benign_at_high)} | ${pct(o.positives_at_high ?? null)} |`,
          ),
        ),
        '',
      ]
    : []),
  '## Per held-out source',
  '',
  '| risk | source | texts | positives | caught at the 1% threshold | false alarms at the 1% threshold |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...Object.entries(report.heads).flatMap(([risk, h]) =>
    Object.entries(h.per_source).map(([source, s]) => `| ${risk} | ${source} | ${s.texts} | ${s.positives} | ${pct(s.caught_at_1pct)} | ${pct(s.false_alarms_at_1pct)} |`),
  ),
  '',
  '## On text nobody trained on (run in Node with the shipped model)',
  '',
  `- The hard negatives of the Tier 1 corpus (${negatives.length} traces built to tempt detectors): ${flagged.length} failed by tier 2 under the default policy${flagged.length ? ': ' + flagged.join('; ') : ''}.`,
  `- ${unsure.length} more in tier 2's uncertain middle (not failed; labelled \`tier2_uncertain\`, or sent to tier 3 when it is on)${unsure.length ? ': ' + unsure.join('; ') : ''}.`,
  `- Median tier-2 time per trace here, embedding included: ${(latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)]! / 1000).toFixed(1)} ms (orientation only; \`topologies/tier2/bench/tier2.ts\` measures).`,
  '- The issue\'s two examples (`topologies/tier2/test/fixtures/examples.json`), which Tier 1 alone passes:',
  '',
  '| example | tier 2 severity | findings (kind, calibrated probability) |',
  '| --- | --- | --- |',
  ...exampleRows,
  '',
  '## Sources and licences',
  '',
  '| source | package | licence | what |',
  '| --- | --- | --- | --- |',
  ...Object.entries(report.sources).map(([name, s]) => `| ${name} | ${s.package} | ${s.licence} | ${s.what} |`),
  '',
];

const path = join(root, 'EVALUATION.md');
const existing = readFileSync(path, 'utf8');
const at = existing.indexOf(MARKER);
writeFileSync(path, (at === -1 ? existing.trimEnd() + '\n\n' : existing.slice(0, at)) + lines.join('\n'));
process.stdout.write(`wrote the tier 2 section of ${path}\n`);
