/**
 * `consistency`: does the answer agree with itself, with the expected answer, with the question's
 * language and with its sources? Finding kinds:
 * - `contradiction`: a statement and its negation, two figures for one quantity, a yes/no flip;
 * - `reference_mismatch` (when `reference` is given): similarity under a threshold, a number of the
 *   reference replaced by another, or the opposite yes/no;
 * - `language_mismatch`: the answer is in another language than the question (unless the question
 *   names a language or asks for a translation);
 * - `ungrounded` (when `context` is given): a sentence stating a number or a name the sources and
 *   the question lack (offsets of the sentence).
 *
 * @example
 *   consistencyModule.evaluate(makeTrace({ output: { content: 'Revenue was $5M. … Revenue was $7M.', finish_reason: 'stop' } }),
 *     consistencyModule.configSchema.parse({})).findings[0].kind; // 'contradiction'
 */
import { inputText, type Finding, type Severity, type Trace } from '@metronis/schemas';
import { z } from 'zod';
import { defineModule, finding } from '../../module.js';
import { createSharedText, type SharedText } from '../../shared-text.js';
import { outcomeOf } from '../quality/outcome.js';
import { contradictions } from './contradiction.js';
import { ungroundedSentences } from './grounding.js';
import { contradictedNumbers, flippedVerdict, referenceSimilarity } from './reference.js';

export const CONSISTENCY_KINDS = ['contradiction', 'reference_mismatch', 'language_mismatch', 'ungrounded'] as const;
export type ConsistencyKind = (typeof CONSISTENCY_KINDS)[number];

const SEVERITY: Record<ConsistencyKind, Severity> = {
  contradiction: 'medium',
  reference_mismatch: 'medium',
  language_mismatch: 'medium',
  ungrounded: 'medium',
};

export const consistencyConfigSchema = z.strictObject({
  check_contradiction: z.boolean().default(true),
  reference_min_similarity: z
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe('Similarity to the reference (max of token F2 and trigram cosine) under which `reference_mismatch` fires.'),
  check_reference_numbers: z.boolean().default(true).describe('A reference number replaced by another number is a mismatch.'),
  check_language: z.boolean().default(true),
  check_grounding: z.boolean().default(true),
  grounding_min_support: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('A sentence naming something the sources lack is ungrounded when fewer of its content words than this share are in the sources.'),
});
export type ConsistencyConfig = z.output<typeof consistencyConfigSchema>;

/** The user's question: the last user message of a chat, or the prompt text. */
function question(trace: Trace): string {
  for (let i = trace.input.messages.length - 1; i >= 0; i--) {
    const m = trace.input.messages[i]!;
    if (m.role === 'user') return m.content;
  }
  return inputText(trace);
}

/** A question that names a language or asks for a translation may rightly get an answer in another one. */
const ASKS_FOR_LANGUAGE =
  /translat|tradu|übersetz|overs[æa]t|перев|翻訳|翻译|번역|\b(?:english|spanish|french|german|italian|portuguese|dutch|swedish|polish|turkish|russian|ukrainian|chinese|japanese|korean|arabic|hebrew|greek|hindi|thai|español|inglés|français|anglais|deutsch|englisch|italiano|inglese|português|inglês|nederlands|engels|svenska|polski|türkçe|русск|англ)/i;

export const consistencyModule = defineModule({
  name: 'consistency',
  version: '1.0.0',
  description: 'Contradictions within the answer, agreement with the reference, the question language and the sources.',
  configSchema: consistencyConfigSchema,
  evaluate: function evaluateConsistency(trace: Trace, config: ConsistencyConfig, shared: SharedText = createSharedText()) {
    const text = trace.output.content;
    const findings: Finding[] = [];

    if (config.check_contradiction) {
      for (const c of contradictions(text, shared.sentences(text))) findings.push(finding('contradiction', c.message, 'output', c.start, c.end, null));
    }

    if (trace.reference !== null && trace.reference.trim() !== '') {
      const reference = trace.reference;
      const flipped = flippedVerdict(text, reference);
      const similarity = referenceSimilarity(text, reference, config.reference_min_similarity);
      const sameVerdict = flipped === null && /^\s*(?:yes|no)\s*[.!]?\s*$/i.test(reference);
      if (sameVerdict) {
        // a bare yes/no reference: agreement is the answer's opening word; anything else is not judged
      } else if (flipped) {
        findings.push(finding('reference_mismatch', `the answer says "${flipped}" where the reference says "${reference.trim()}"`, 'output', 0, flipped.length, 0.9));
      } else if (similarity < config.reference_min_similarity) {
        findings.push(finding('reference_mismatch', `the answer is unlike the reference (similarity ${similarity.toFixed(2)} < ${config.reference_min_similarity})`, 'output', 0, text.length, 1 - similarity));
      } else if (config.check_reference_numbers) {
        const replaced = contradictedNumbers(text, reference);
        if (replaced.length > 0) {
          findings.push(finding('reference_mismatch', `the reference states ${replaced.map((n) => `"${n.text.trim()}"`).join(', ')} and the answer gives other figures`, 'output', 0, text.length, 0.8));
        }
      }
    }

    if (config.check_language) {
      const q = question(trace);
      if (!ASKS_FOR_LANGUAGE.test(q)) {
        const asked = shared.language(q);
        const answered = shared.language(text);
        if (asked.language !== 'und' && answered.language !== 'und' && asked.language !== answered.language) {
          findings.push(finding('language_mismatch', `the question is in "${asked.language}" and the answer in "${answered.language}"`, 'output', 0, text.length, Math.min(asked.confidence, answered.confidence)));
        }
      }
    }

    if (config.check_grounding && trace.context.length > 0) {
      const docs = trace.context.map((d) => d.content);
      for (const u of ungroundedSentences(text, docs, inputText(trace), { minSupport: config.grounding_min_support }, shared.sentences(text))) {
        findings.push(finding('ungrounded', `not supported by the context: ${u.missing.map((m) => `"${m}"`).join(', ')} (content-word support ${(u.support * 100).toFixed(0)}%)`, 'output', u.start, u.end, 1 - u.support));
      }
    }
    return outcomeOf(findings, (kind) => SEVERITY[kind as ConsistencyKind] ?? 'medium');
  },
});
