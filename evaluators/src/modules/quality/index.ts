/**
 * `quality`: is the answer well made? Length bounds (`too_short`, `too_long`), the answer's language
 * (always a `language:xx` label; a `language` finding only when the policy lists allowed languages),
 * English `spelling` (a rate over the words a dictionary can judge), Flesch `readability` (a label;
 * a finding under a floor), `repeated_words` ("the the") and `incomplete` (stops mid-way, or
 * promises steps it does not give). Defaults are set so that a normal answer raises nothing.
 *
 * @example
 *   qualityModule.evaluate(makeTrace({ output: { content: 'Here are the steps:', finish_reason: 'stop' } }),
 *     qualityModule.configSchema.parse({})).findings[0].kind; // 'incomplete'
 */
import type { Finding, Severity, Trace } from '@metronis/schemas';
import { z } from 'zod';
import { defineModule, finding } from '../../module.js';
import { createSharedText, type SharedText } from '../../shared-text.js';
import { incompleteness, repeatedWords } from './checks.js';
import { outcomeOf } from './outcome.js';
import { fleschReadingEase, readabilityLabel } from './readability.js';
import { misspellings } from './spelling.js';

export const QUALITY_KINDS = ['too_short', 'too_long', 'language', 'spelling', 'readability', 'repeated_words', 'incomplete'] as const;
export type QualityKind = (typeof QUALITY_KINDS)[number];

const SEVERITY: Record<QualityKind, Severity> = {
  too_short: 'medium',
  too_long: 'low',
  language: 'medium',
  spelling: 'low',
  readability: 'low',
  repeated_words: 'low',
  incomplete: 'medium',
};

const count = z.number().int().nonnegative().max(1_000_000_000);
export const qualityConfigSchema = z.strictObject({
  min_chars: count.default(1).describe('Fewer non-space characters than this is too_short.'),
  min_words: count.default(1).describe('Fewer words than this is too_short.'),
  max_chars: count.default(24_000).describe('More characters than this is too_long.'),
  max_words: count.default(4_000).describe('More words than this is too_long.'),
  allowed_languages: z
    .array(z.string().regex(/^[a-z]{2}$/, 'an ISO 639-1 code such as "en"'))
    .default([])
    .describe('When not empty, an answer detected in another language is a `language` finding.'),
  spelling_max_error_rate: z.number().min(0).max(1).default(0.06).describe('Misspelled share of checked words above which `spelling` fires.'),
  spelling_min_errors: count.default(2),
  spelling_min_words: count.default(15).describe('Answers with fewer checkable words are not judged.'),
  extra_words: z.array(z.string().min(1).max(100)).max(10_000).default([]).describe('Words the dictionary should accept (product names, jargon).'),
  min_reading_ease: z.number().min(-1_000).max(1_000).nullable().default(0).describe('Flesch reading ease under which `readability` fires; null turns it off.'),
  readability_min_words: count.default(40),
  check_repeated_words: z.boolean().default(true),
  check_incomplete: z.boolean().default(true),
});
export type QualityConfig = z.output<typeof qualityConfigSchema>;

/** Non-whitespace characters, counted only as far as `enough` (the only question is "fewer than min_chars?"). */
function nonSpaceChars(text: string, enough: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n < enough; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d && c !== 0xa0 && c !== 0x3000) n++;
  }
  return n;
}

export const qualityModule = defineModule({
  name: 'quality',
  version: '1.0.0',
  description: 'Length, language, spelling, readability, repeated words and unfinished answers.',
  configSchema: qualityConfigSchema,
  // The whole output: length and "stops mid-way" are about its end, which a cut would invent. Every
  // check is linear in it (language detection reads 600 characters).
  examines: { output: 1_048_576, input: 'unread', context: 'unread', reference: 'unread' },
  evaluate: function evaluateQuality(trace: Trace, config: QualityConfig, shared: SharedText = createSharedText()) {
    const text = trace.output.content;
    const findings: Finding[] = [];
    const labels: string[] = [];
    const prose = shared.maskCode(text);
    const ws = shared.words(prose);
    const chars = nonSpaceChars(text, config.min_chars);
    // code counts towards length: count words of the raw text only when the prose alone is short
    const wordCount = ws.length >= config.min_words ? ws.length : shared.words(text).length;

    if (chars < config.min_chars || wordCount < config.min_words) {
      findings.push(finding('too_short', `the answer has ${wordCount} words and ${nonSpaceChars(text, Infinity)} non-space characters (minimum ${config.min_words} words, ${config.min_chars} characters)`, 'output', 0, text.length, 1));
    }
    if (text.length > config.max_chars || ws.length > config.max_words) {
      findings.push(finding('too_long', `the answer has ${ws.length} words and ${text.length} characters (maximum ${config.max_words} words, ${config.max_chars} characters)`, 'output', 0, text.length, 1));
    }

    const { language, confidence } = shared.language(prose, true);
    labels.push(`language:${language}`);
    if (config.allowed_languages.length > 0 && language !== 'und' && !config.allowed_languages.includes(language)) {
      findings.push(finding('language', `the answer is in "${language}", not one of the allowed languages (${config.allowed_languages.join(', ')})`, 'output', 0, text.length, confidence));
    }

    if (language === 'en') {
      const extra = new Set(config.extra_words.map((w) => w.toLowerCase()));
      const { misspelled, checked } = misspellings(ws, extra);
      const rate = checked === 0 ? 0 : misspelled.length / checked;
      if (checked >= config.spelling_min_words && misspelled.length >= config.spelling_min_errors && rate > config.spelling_max_error_rate) {
        for (const w of misspelled.slice(0, 20)) {
          findings.push(finding('spelling', `"${w.text}" is not in the English dictionary (${misspelled.length} of ${checked} words, ${(rate * 100).toFixed(1)}%)`, 'output', w.start, w.end, Math.min(1, rate / config.spelling_max_error_rate / 2)));
        }
      }
      const readability = fleschReadingEase(prose, ws, shared.sentences(prose));
      if (readability.words >= config.readability_min_words) {
        labels.push(readabilityLabel(readability.score));
        if (config.min_reading_ease !== null && readability.score < config.min_reading_ease) {
          findings.push(finding('readability', `Flesch reading ease ${readability.score} is under ${config.min_reading_ease} (${readability.words} words in ${readability.sentences} sentences)`, 'output', 0, text.length, null));
        }
      }
    }

    if (config.check_repeated_words) {
      for (const r of repeatedWords(prose, ws).slice(0, 20)) findings.push(finding('repeated_words', `"${r.text}": a word written twice`, 'output', r.start, r.end, 0.9));
    }
    if (config.check_incomplete) {
      const unfinished = incompleteness(text, prose);
      if (unfinished) findings.push(finding('incomplete', `the answer looks unfinished: ${unfinished.reason}`, 'output', unfinished.start, unfinished.end, null));
    }
    return outcomeOf(findings, (kind) => SEVERITY[kind as QualityKind] ?? 'low', labels);
  },
});
