/**
 * The text work shared by the modules of one trace (shared-text.ts) must change nothing but the cost:
 * each shared result equals the plain function's, each module gives the same outcome with a
 * `SharedText` that other modules filled first as with none, and a module that sees a field cut
 * shorter (bounds.ts) gets the results of the cut text.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTrace, type Trace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../scripts/corpus.js';
import { createSharedText, DEFAULT_POLICY, detectLanguage, MODULE_NAMES, MODULES, runModule, runModules, type EvaluationModule } from '../src/index.js';
import { maskCode, sentences, words } from '../src/modules/quality/text.js';

const corpus = loadCorpus(join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus')).cases;

const TEXTS = [
  'The endpoint supports pagination. The endpoint does not support pagination.',
  'Run `npm ci` first, then see https://example.com/docs and mail ops@example.com.\n```js\nconst x = 1;\n```\nDone.',
  '¿Dónde está la estación de tren? Está cerca del centro.',
  'Привет, как дела? Всё хорошо, спасибо.',
  '',
  'x'.repeat(700) + ' ```code',
];

describe('shared text of one trace', () => {
  it('gives what the plain functions give, for any text and for a text and its masked form', () => {
    const many = createSharedText(); // one for every text: past its few entries it computes without keeping
    for (const text of [...TEXTS, ...corpus.map((c) => c.trace.output.content)]) {
      expect(many.words(text)).toEqual(words(text));
      expect(many.language(text)).toEqual(detectLanguage(text));
      const shared = createSharedText(); // one per trace, as the runner makes it
      const prose = shared.maskCode(text);
      expect(prose).toBe(maskCode(text));
      expect(shared.words(prose)).toEqual(words(prose));
      expect(shared.sentences(text)).toEqual(sentences(text));
      expect(shared.language(text)).toEqual(detectLanguage(text));
      expect(shared.language(prose, true)).toEqual(detectLanguage(prose, true));
      // asked again: the very same (shared) result
      expect(shared.words(prose)).toBe(shared.words(prose));
    }
  });

  it('leaves every module outcome on the corpus as it is without sharing, after the other modules filled it', () => {
    for (const c of corpus) {
      const shared = createSharedText();
      // every other module first, so the shared entries exist when the case's own module runs
      for (const name of MODULE_NAMES) {
        const other: EvaluationModule = MODULES[name];
        if (name !== c.module) other.evaluate(c.trace, other.configSchema.parse({}), shared);
      }
      const module: EvaluationModule = MODULES[c.module];
      expect(module.evaluate(c.trace, c.config, shared), c.id).toEqual(module.evaluate(c.trace, c.config));
    }
  });

  it('gives a module that sees a cut field the results of the cut text, not those of the whole', () => {
    // quality reads up to 1 MiB of the output and consistency 64 KiB: one trace, two different texts
    const sentence = 'The endpoint does not support pagination. ';
    const long = sentence.repeat(Math.ceil(70_000 / sentence.length)) + 'The endpoint supports pagination.';
    const trace: Trace = makeTrace({ output: { content: long, finish_reason: 'stop' } });
    const strip = (results: ReturnType<typeof runModules>) => results.map(({ latency_us: _, ...r }) => r);
    const together = strip(runModules(trace, DEFAULT_POLICY));
    const apart = strip(MODULE_NAMES.map((name) => runModule(name, trace, DEFAULT_POLICY)));
    expect(together).toEqual(apart);
    expect(together.find((r) => r.module === 'consistency')!.labels).toContain('truncated_output');
  });
});
