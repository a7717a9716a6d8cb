import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCorpus, parseCorpusFile } from '../scripts/corpus.js';
import { main } from '../scripts/eval-main.js';
import { evaluateCorpus, precision, recall } from '../scripts/evaluate.js';
import { isModuleName } from '../src/registry.js';

const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus');

describe('evaluation corpus', () => {
  const { cases, errors, files } = loadCorpus(corpusDir);

  it('parses every line of every corpus file into a case of a registered module', () => {
    expect(errors).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['consistency.jsonl', 'quality.jsonl']));
    for (const c of cases) expect(isModuleName(c.module), c.id).toBe(true);
  });

  it('has at least 40 cases for consistency and quality, about half hard negatives', () => {
    for (const module of ['consistency', 'quality']) {
      const own = cases.filter((c) => c.module === module);
      const negatives = own.filter((c) => c.kinds.length === 0).length;
      expect(own.length, module).toBeGreaterThanOrEqual(40);
      expect(negatives / own.length, module).toBeGreaterThan(0.35);
      expect(negatives / own.length, module).toBeLessThan(0.65);
    }
  });

  it('reports malformed lines with file, line and reason', () => {
    const text = [
      '{"id":"x-1","module":"quality","kinds":[],"note":"ok","trace":{"output":"Fine."}}',
      'not json',
      '{"id":"x-2","module":"toxicity","kinds":[],"note":"n","trace":{}}',
      '{"id":"x-3","module":"quality","kinds":[],"note":"n","trace":{"outptu":"typo"}}',
      '{"id":"x-4","module":"quality","kinds":[],"note":"n","config":{"max_chars":"x"},"trace":{}}',
      '{"id":"x-5","module":"quality","kinds":[],"note":"n","trace":{"output":42}}',
    ].join('\n');
    const { cases: ok, errors: bad } = parseCorpusFile('t.jsonl', text);
    expect(ok.map((c) => c.id)).toEqual(['x-1']);
    expect(ok[0]!.trace.output).toEqual({ content: 'Fine.', finish_reason: 'stop' });
    expect(bad.map((e) => e.line)).toEqual([2, 3, 4, 5, 6]);
    expect(bad[0]!.message).toMatch(/not JSON/);
    expect(bad[1]!.message).toMatch(/module: not a registered module/);
    expect(bad[2]!.message).toMatch(/unknown trace field "outptu"/);
    expect(bad[3]!.message).toMatch(/config: max_chars/);
    expect(bad[4]!.message).toMatch(/output must be a string/);
  });

  it('counts TP, FP and FN per kind', () => {
    const { cases: two } = parseCorpusFile(
      't.jsonl',
      [
        '{"id":"a","module":"quality","kinds":["repeated_words"],"note":"n","trace":{"output":"Open the the page."}}',
        '{"id":"b","module":"quality","kinds":["incomplete"],"note":"n","trace":{"output":"All done here, thanks."}}',
        '{"id":"c","module":"quality","kinds":[],"note":"n","trace":{"output":"Here are the steps:"}}',
      ].join('\n'),
    );
    const { modules, misses } = evaluateCorpus(two);
    const q = modules[0]!;
    expect(q.kinds.repeated_words).toEqual({ tp: 1, fp: 0, fn: 0 });
    expect(q.kinds.incomplete).toEqual({ tp: 0, fp: 1, fn: 1 });
    expect([q.tp, q.fp, q.fn, q.falseAlarms, q.hardNegatives]).toEqual([1, 1, 1, 1, 1]);
    expect([precision(q), recall(q)]).toEqual([0.5, 0.5]);
    expect(misses.map((m) => m.id)).toEqual(['b', 'c']);
  });
});

describe('eval:tier1', () => {
  it('writes the report for the real corpus and refuses a small or malformed one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metronis-corpus-'));
    try {
      const out = join(dir, 'EVALUATION.md');
      const quiet = { log: console.log, error: console.error };
      console.log = console.error = () => {};
      let real: number, small: number, malformed: number;
      try {
        real = main(['--corpus', corpusDir, '--out', out]);
        writeFileSync(join(dir, 'few.jsonl'), '{"id":"a","module":"quality","kinds":[],"note":"n","trace":{"output":"Fine."}}\n');
        small = main(['--corpus', dir, '--out', join(dir, 'small.md')]);
        writeFileSync(join(dir, 'bad.jsonl'), '{"id":"b","module":"quality"}\n');
        malformed = main(['--corpus', dir, '--no-write']);
      } finally {
        Object.assign(console, quiet);
      }
      expect(real).toBe(0);
      const report = readFileSync(out, 'utf8');
      expect(report).toContain('| consistency |');
      expect(report).toContain('| quality | `spelling` |');
      expect(report).toContain('npm run eval:tier1');
      expect(small).toBe(1);
      expect(() => readFileSync(join(dir, 'small.md'))).toThrow();
      expect(malformed).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
