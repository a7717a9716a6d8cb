/**
 * Hostile inputs against each Tier 1 module, in-process: how long one trace takes per module for the
 * input classes that once stalled evaluation (dense ~1 MB text, a large custom lexicon with a long
 * repetitive output, PII-shaped noise, many near-identical sentences, a catastrophic json_schema
 * pattern). Run it on a quiet machine; it prints milliseconds, it asserts nothing.
 *
 *   node --conditions=source --import tsx evaluators/bench/hostile.ts [case ...]
 */
import { makeTrace, type Trace } from '@metronis/schemas';
import { MODULE_NAMES, parsePolicy, runModule, warmUp, DEFAULT_POLICY, type Policy } from '../src/index.js';

const MB = 1024 * 1024;
const text = (t: string) => ({ text: t, messages: [] });
const fill = (unit: string, size = MB) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
const PROSE = 'On 12 March 2024 Dr. Ada Lovelace of Acme Corp said revenue was $5M, not $7M; call (415) 555-2671 or mail ada@acme.dev. The API does not support pagination. ';
const words = (n: number, seed = 1) => {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(`w${(x % 5000).toString(36)}`);
  }
  return out;
};
const bigLexicon: Policy = parsePolicy({
  modules: {
    safety: {
      config: {
        extra_terms: Object.fromEntries(['violence', 'self_harm', 'sexual', 'hate', 'weapons_illegal'].map((c, k) => [c, Array.from({ length: 2000 }, (_, i) => `kill ${words(12, i + k * 7919).join(' ')}`.slice(0, 200))])),
        allow: Array.from({ length: 2000 }, (_, i) => `kill ${words(6, i + 99).join(' ')}`),
      },
    },
  },
});

const CASES: Record<string, () => { trace: Trace; policy: Policy }> = {
  dense_prose: () => ({ trace: makeTrace({ input: text(fill(PROSE, MB / 4)), output: { content: fill(PROSE), finish_reason: 'stop' }, context: [{ id: null, content: fill(PROSE, MB / 2), source: null, score: null }] }), policy: DEFAULT_POLICY }),
  stems: () => ({ trace: makeTrace({ input: text(fill('kill how to make a bomb suicide ')), output: { content: fill('kill you kill him how to kill '), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  big_lexicon: () => ({ trace: makeTrace({ input: text('hi'), output: { content: fill(`kill ${words(12, 3).join(' ')} `), finish_reason: 'stop' } }), policy: bigLexicon }),
  digits: () => ({ trace: makeTrace({ input: text(fill('1 2 3 4 5 6 7 8 9 0 ')), output: { content: fill('415-555-2671 4111 1111 1111 1111 192.168.1.1 '), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  at_signs: () => ({ trace: makeTrace({ input: text(fill('a@')), output: { content: fill('a.b@c.d@e.f@'), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  colons: () => ({ trace: makeTrace({ input: text('x'), output: { content: fill('1:2:3:4:5:6:7:8:9:'), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  negations: () => ({ trace: makeTrace({ input: text('x'), output: { content: fill('The service does not support pagination. The service supports pagination. '), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  figures: () => ({ trace: makeTrace({ input: text('x'), output: { content: Array.from({ length: 20_000 }, (_, i) => `Revenue of unit ${words(1, i)[0]} was $${i}M.`).join(' '), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  names_grounding: () => ({ trace: makeTrace({ input: text('x'), output: { content: fill('Then Zorblax Quintar met Vexamor in Plinth. '), finish_reason: 'stop' }, context: [{ id: null, content: fill('Nothing here at all. '), source: null, score: null }] }), policy: DEFAULT_POLICY }),
  repetition: () => ({ trace: makeTrace({ input: text('x'), output: { content: fill('a b a b c a b a b c d '), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  json_big: () => ({ trace: makeTrace({ input: text('x'), json_schema_json: JSON.stringify({ type: 'array', uniqueItems: true, items: { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } } }), output: { content: JSON.stringify(Array.from({ length: 30_000 }, (_, i) => ({ s: 'a'.repeat(10), i }))), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  promises: () => ({ trace: makeTrace({ input: text('x'), output: { content: fill('Here are 5 steps to follow:\n1. one\n'), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  fences: () => ({ trace: makeTrace({ input: text('x'), output: { content: fill('```\ncode\n'), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
  no_spaces: () => ({ trace: makeTrace({ input: text(fill('x')), output: { content: fill('abcdefghij'), finish_reason: 'stop' } }), policy: DEFAULT_POLICY }),
};

warmUp(DEFAULT_POLICY, 3);
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(CASES);
for (const name of names) {
  const make = CASES[name];
  if (make === undefined) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  const { trace, policy } = make();
  const row: string[] = [];
  for (const module of MODULE_NAMES) {
    const started = performance.now();
    const result = runModule(module, trace, policy);
    row.push(`${module} ${(performance.now() - started).toFixed(0)} ms (${result.findings.length} findings${result.labels.filter((l) => l.startsWith('truncated') || l === 'module_error').map((l) => `, ${l}`).join('')})`);
  }
  console.log(`${name}: ${row.join(' · ')}`);
}
