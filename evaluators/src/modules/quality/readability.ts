/**
 * Flesch reading ease for English prose: 206.835 − 1.015 × words/sentence − 84.6 × syllables/word.
 * 60–70 is plain English, 30–50 is college level, below 30 is hard going, below 0 is legal prose.
 * Syllables are counted with the usual vowel-group heuristic (silent final "e" dropped, at least one).
 *
 * @example
 *   fleschReadingEase('The cat sat on the mat.').score; // 116.1
 */
import { sentences, words, type Span } from './text.js';

const HAS_LETTER = /\p{L}/u;
/** `HAS_LETTER.test(text)`, answered without the regex when the text starts with an ASCII letter (most words and sentences). */
function hasLetter(text: string): boolean {
  const c = text.charCodeAt(0) | 0x20;
  return (c >= 97 && c <= 122) || HAS_LETTER.test(text);
}

export interface Readability {
  score: number;
  words: number;
  sentences: number;
}

/** `prose` is text with code masked out (`maskCode`); `allWords` and `allSentences` its words and sentences, when already split. */
export function fleschReadingEase(prose: string, allWords: readonly Span[] = words(prose), allSentences: readonly Span[] = sentences(prose)): Readability {
  let letterSentences = 0;
  for (const s of allSentences) if (hasLetter(s.text)) letterSentences++;
  const sentenceCount = Math.max(1, letterSentences);
  let wordCount = 0;
  let syllableCount = 0;
  for (const w of allWords) {
    if (!hasLetter(w.text)) continue;
    wordCount++;
    syllableCount += syllables(w.text);
  }
  if (wordCount === 0) return { score: 100, words: 0, sentences: 0 };
  const score = 206.835 - 1.015 * (wordCount / sentenceCount) - 84.6 * (syllableCount / wordCount);
  return { score: Math.round(score * 10) / 10, words: wordCount, sentences: sentenceCount };
}

/** Vowel groups, less a silent final "e" (but not "-le", "-ee"), less the silent "e" of "-ed"/"-es" after most consonants. */
export function syllables(word: string): number {
  const w = isLowerAscii(word) ? word : word.toLowerCase();
  if (w.length <= 3) return 1;
  let n = 0;
  let inVowel = false;
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    const vowel = c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 121;
    if (vowel && !inVowel) n++;
    inVowel = vowel;
  }
  const last = w[w.length - 1];
  const prev = w[w.length - 2]!;
  if (last === 'e' && prev !== 'l' && prev !== 'e') n--;
  else if ((last === 'd' || last === 's') && prev === 'e' && !'aeioutdsxzcgh'.includes(w[w.length - 3]!)) n--;
  return Math.max(1, n);
}

/** No upper-case letter and nothing outside ASCII: lower-casing would give the word back as it is. */
function isLowerAscii(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c > 127 || (c >= 65 && c <= 90)) return false;
  }
  return true;
}

/** The coarse label for a score. */
export function readabilityLabel(score: number): string {
  if (score >= 60) return 'readability:easy';
  if (score >= 30) return 'readability:standard';
  if (score >= 0) return 'readability:difficult';
  return 'readability:very_difficult';
}
