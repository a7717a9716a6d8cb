/**
 * The text work that several modules do on the same strings of one trace — code masked out, words,
 * sentences, the language — done once per trace and shared. The runner (registry.ts) makes one per
 * trace and hands it to every module; a module called on its own makes its own, so its findings are
 * the same either way. Each result is keyed by the content of the string it was computed from, so a
 * module that sees a field cut shorter (bounds.ts) gets the result of that cut text, never another's.
 * Results are shared: read them, never change them.
 *
 * @example
 *   const shared = createSharedText();
 *   shared.words(shared.maskCode(output)); // split once; every later call for the same text is a lookup
 */
import { detectLanguage, languageSample, type Detection } from './modules/quality/language.js';
import { maskCode, sentences, words, type Span } from './modules/quality/text.js';

export interface SharedText {
  /** `maskCode(text)`. */
  maskCode(text: string): string;
  /** `words(text)`. */
  words(text: string): readonly Span[];
  /** `sentences(text)`. */
  sentences(text: string): readonly Span[];
  /** `detectLanguage(text, masked)`: the detection of the same sample is shared whatever text it came from. */
  language(text: string, masked?: boolean): Detection;
}

export function createSharedText(): SharedText {
  const masked = new Map<string, string>();
  const split = new Map<string, readonly Span[]>();
  const sentenced = new Map<string, readonly Span[]>();
  const detected = new Map<string, Detection>();
  const memo = <T>(cache: Map<string, T>, text: string, compute: (text: string) => T): T => {
    let value = cache.get(text);
    if (value === undefined) cache.set(text, (value = compute(text)));
    return value;
  };
  return {
    maskCode: (text) => memo(masked, text, maskCode),
    words: (text) => memo(split, text, words),
    sentences: (text) => memo(sentenced, text, sentences),
    language: (text, isMasked = false) => memo(detected, languageSample(text, isMasked), (sample) => detectLanguage(sample, true)),
  };
}
