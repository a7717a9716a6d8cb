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

/** Entries each kind of result keeps: a trace has a few distinct texts (output, its prose, the question). */
const MAX_ENTRIES = 8;

/**
 * One kind of result, remembered per text in a short list compared with `===` (a pointer test when a
 * module passes the very string another did): cheaper than hashing for the handful of texts of one
 * trace. Past `MAX_ENTRIES` a result is computed and not kept.
 */
class Memo<T> {
  private readonly keys: string[] = [];
  private readonly values: T[] = [];
  constructor(private readonly compute: (text: string) => T) {}
  get(text: string): T {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === text) return this.values[i] as T;
    const value = this.compute(text);
    if (this.keys.length < MAX_ENTRIES) {
      this.keys.push(text);
      this.values.push(value);
    }
    return value;
  }
}

export function createSharedText(): SharedText {
  const masked = new Memo(maskCode);
  const split = new Memo(words);
  const sentenced = new Memo(sentences);
  const detected = new Memo((sample) => detectLanguage(sample, true));
  return {
    maskCode: (text) => masked.get(text),
    words: (text) => split.get(text),
    sentences: (text) => sentenced.get(text),
    language: (text, isMasked = false) => detected.get(languageSample(text, isMasked)),
  };
}
