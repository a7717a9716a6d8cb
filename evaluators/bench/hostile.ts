/**
 * Hostile inputs against each Tier 1 module, in-process: how long one trace takes per module for each
 * class in hostile-cases.ts. Run it on a quiet machine; it prints milliseconds, it asserts nothing.
 *
 *   node --conditions=source --import tsx evaluators/bench/hostile.ts [case ...]
 */
import { MODULE_NAMES, runModule, warmUp, DEFAULT_POLICY } from '../src/index.js';
import { HOSTILE_CASES } from './hostile-cases.js';

warmUp(DEFAULT_POLICY, 3);
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(HOSTILE_CASES);
for (const name of names) {
  const make = HOSTILE_CASES[name];
  if (make === undefined) throw new Error(`unknown case ${name}; cases: ${Object.keys(HOSTILE_CASES).join(', ')}`);
  const { trace, policy } = make();
  const row: string[] = [];
  for (const module of MODULE_NAMES) {
    const started = performance.now();
    const result = runModule(module, trace, policy);
    row.push(`${module} ${(performance.now() - started).toFixed(0)} ms (${result.findings.length} findings${result.labels.filter((l) => l.startsWith('truncated') || l === 'module_error').map((l) => `, ${l}`).join('')})`);
  }
  console.log(`${name}: ${row.join(' · ')}`);
}
