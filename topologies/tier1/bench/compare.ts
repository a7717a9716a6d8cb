/**
 * Tier 1's modules before and after a change, on the bench's traces, in one process (a measurement,
 * not a test). Both copies of @metronis/evaluators are loaded side by side and every trace is timed
 * with each, alternating which goes first, so that the other load of a busy machine falls on both
 * alike. Per module and for all five (`runModules`), it prints p50/p99/mean over the traces of each
 * trace's fastest run (the one least disturbed by other processes), of each trace's median run, and
 * of all runs (what tier1.ts reports, which on a busy machine is mostly the machine).
 *
 *   mkdir -p bench-results/before && git archive <commit> evaluators | tar -x -C bench-results/before
 *   node --conditions=source --import tsx topologies/tier1/bench/compare.ts bench-results/before [rounds, default 20]
 *
 * The "before" copy must sit inside the repository (bench-results/ is ignored) so that it resolves
 * the same dependencies.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Trace } from '@metronis/schemas';
import { benchTraces } from './traces.js';

const before = process.argv[2];
if (before === undefined) throw new Error('usage: compare.ts <directory holding the "before" evaluators/> [rounds]');
const rounds = Number(process.argv[3] ?? 20);

type Evaluators = typeof import('@metronis/evaluators');
const load = (root: string): Promise<Evaluators> => import(pathToFileURL(resolve(root, 'evaluators/src/index.ts')).href);
const variants = [await load(before), await import('@metronis/evaluators')];
const traces: Trace[] = benchTraces();
const names = [...variants[1]!.MODULE_NAMES, 'all five'] as const;
for (const ev of variants) ev.warmUp(ev.DEFAULT_POLICY);

const run = (ev: Evaluators, name: (typeof names)[number], trace: Trace) =>
  name === 'all five' ? ev.runModules(trace, ev.DEFAULT_POLICY) : ev.runModule(name, trace, ev.DEFAULT_POLICY);

// samples[variant][module][round * traces + trace], microseconds
const samples = variants.map(() => new Map(names.map((n) => [n, [] as number[]])));
for (let r = 0; r < rounds; r++) {
  for (const name of names) {
    for (const trace of traces) {
      for (const v of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const started = process.hrtime.bigint();
        run(variants[v]!, name, trace);
        samples[v]!.get(name)!.push(Number(process.hrtime.bigint() - started) / 1000);
      }
    }
  }
}

function summary(xs: number[]): string {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return [at(0.5), at(0.99), mean].map((x) => x.toFixed(0).padStart(6)).join('');
}
/** One value per trace from its rounds. */
const perTrace = (xs: number[], pick: (ys: number[]) => number) =>
  traces.map((_, i) => pick(Array.from({ length: rounds }, (_, r) => xs[r * traces.length + i]!)));
const fastest = (ys: number[]) => Math.min(...ys);
const median = (ys: number[]) => [...ys].sort((a, b) => a - b)[Math.floor(ys.length / 2)]!;

console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')}; ${traces.length} traces × ${rounds} rounds; µs per trace as p50 p99 mean`);
console.log(`${'module'.padEnd(11)} | ${'fastest run: before'.padEnd(18)} | ${'after'.padEnd(18)} | ${'median run: before'.padEnd(18)} | ${'after'.padEnd(18)} | ${'all runs: before'.padEnd(18)} | after`);
for (const name of names) {
  const [a, b] = samples.map((s) => s.get(name)!);
  const cells = [perTrace(a!, fastest), perTrace(b!, fastest), perTrace(a!, median), perTrace(b!, median), a!, b!].map(summary);
  console.log(`${name.padEnd(11)} | ${cells.join(' | ')}`);
}
