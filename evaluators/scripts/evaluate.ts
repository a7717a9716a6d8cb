/**
 * Scores the Tier 1 modules on the corpus: each case runs through its module, and the kinds found
 * are compared with the kinds expected (a hard negative expects none). Per module and per finding
 * kind: true positives (expected and found), false positives (found, not expected), false negatives
 * (expected, not found), precision and recall. `renderMarkdown` writes the EVALUATION.md table.
 */
import type { EvaluationModule } from '../src/module.js';
import { MODULES } from '../src/registry.js';
import type { CorpusCase } from './corpus.js';

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}
export interface ModuleReport extends Counts {
  module: string;
  cases: number;
  hardNegatives: number;
  /** Hard negatives on which the module raised anything. */
  falseAlarms: number;
  kinds: Record<string, Counts>;
  meanMicros: number;
}
export interface Miss {
  id: string;
  expected: string[];
  found: string[];
}

export function evaluateCorpus(cases: readonly CorpusCase[]): { modules: ModuleReport[]; misses: Miss[] } {
  const reports = new Map<string, ModuleReport>();
  const misses: Miss[] = [];
  for (const c of cases) {
    const module: EvaluationModule = MODULES[c.module];
    const r = reports.get(c.module) ?? { module: c.module, cases: 0, hardNegatives: 0, falseAlarms: 0, tp: 0, fp: 0, fn: 0, kinds: {}, meanMicros: 0 };
    reports.set(c.module, r);
    const started = process.hrtime.bigint();
    const outcome = module.evaluate(c.trace, c.config);
    r.meanMicros += Number(process.hrtime.bigint() - started) / 1000;
    const found = new Set(outcome.findings.map((f) => f.kind));
    const expected = new Set(c.kinds);
    r.cases++;
    if (expected.size === 0) {
      r.hardNegatives++;
      if (found.size > 0) r.falseAlarms++;
    }
    for (const kind of new Set([...found, ...expected])) {
      const k = (r.kinds[kind] ??= { tp: 0, fp: 0, fn: 0 });
      const which: keyof Counts = expected.has(kind) ? (found.has(kind) ? 'tp' : 'fn') : 'fp';
      k[which]++;
      r[which]++;
    }
    if ([...found].sort().join() !== [...expected].sort().join()) misses.push({ id: c.id, expected: [...expected], found: [...found] });
  }
  for (const r of reports.values()) r.meanMicros = r.cases === 0 ? 0 : r.meanMicros / r.cases;
  return { modules: [...reports.values()].sort((a, b) => a.module.localeCompare(b.module)), misses };
}

export function precision(c: Counts): number | null {
  return c.tp + c.fp === 0 ? null : c.tp / (c.tp + c.fp);
}
export function recall(c: Counts): number | null {
  return c.tp + c.fn === 0 ? null : c.tp / (c.tp + c.fn);
}
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

export function renderText(modules: readonly ModuleReport[]): string {
  const lines: string[] = [];
  for (const m of modules) {
    lines.push(`${m.module.padEnd(14)} cases ${String(m.cases).padStart(4)}  precision ${pct(precision(m)).padStart(6)}  recall ${pct(recall(m)).padStart(6)}  TP ${m.tp} FP ${m.fp} FN ${m.fn}  false alarms ${m.falseAlarms}/${m.hardNegatives}`);
    for (const [kind, k] of Object.entries(m.kinds).sort()) {
      lines.push(`  ${kind.padEnd(20)} precision ${pct(precision(k)).padStart(6)}  recall ${pct(recall(k)).padStart(6)}  TP ${k.tp} FP ${k.fp} FN ${k.fn}`);
    }
  }
  return lines.join('\n');
}

export interface RenderMeta {
  date: string;
  commit: string;
  totalCases: number;
  files: string[];
  misses: Miss[];
}

export function renderMarkdown(modules: readonly ModuleReport[], meta: RenderMeta): string {
  const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const out = [
    '# Tier 1 evaluation',
    '',
    'Precision and recall of the Tier 1 evaluation modules on the labelled corpus in `evaluators/corpus/`',
    '(format: `evaluators/corpus/README.md`). Each case names the finding kinds its module should raise; a',
    'hard negative names none and must stay silent. A kind found but not expected is a false positive, a',
    'kind expected but not found a false negative. This file is generated: do not edit it by hand.',
    '',
    'Read these figures as regression results, not as an independent measure: the corpus was written by',
    'the same engineers who tuned the detectors. Adversarial cases from someone else are the next step.',
    '',
    `- Generated: ${meta.date}`,
    `- Commit: ${meta.commit}`,
    `- Corpus: ${meta.totalCases} cases in ${meta.files.map((f) => `\`${f}\``).join(', ')}`,
    '- Reproduce: `npm run eval:tier1` (no services needed)',
    '',
    '## Per module',
    '',
    row(['module', 'cases', 'hard negatives', 'false alarms', 'TP', 'FP', 'FN', 'precision', 'recall', 'mean µs/case']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...modules.map((m) => row([m.module, m.cases, m.hardNegatives, m.falseAlarms, m.tp, m.fp, m.fn, pct(precision(m)), pct(recall(m)), m.meanMicros.toFixed(0)])),
    '',
    '## Per finding kind',
    '',
    row(['module', 'kind', 'TP', 'FP', 'FN', 'precision', 'recall']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const m of modules) {
    for (const [kind, k] of Object.entries(m.kinds).sort()) out.push(row([m.module, `\`${kind}\``, k.tp, k.fp, k.fn, pct(precision(k)), pct(recall(k))]));
  }
  out.push('', '## Cases where found ≠ expected', '');
  if (meta.misses.length === 0) out.push('None.');
  for (const miss of meta.misses) out.push(`- \`${miss.id}\`: expected [${miss.expected.join(', ')}], found [${miss.found.join(', ')}]`);
  out.push('', 'Timings are wall-clock means over one warm pass (after an untimed one) on the machine that generated this file, including any load from other processes: for orientation only; the benchmarks measure speed.', '');
  return out.join('\n');
}
