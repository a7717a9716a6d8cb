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

export interface Readability {
  score: number;
  words: number;
  sentences: number;
}

/** `prose` is text with code masked out (`maskCode`); `allWords` and `allSentences` its words and sentences, when already split. */
export function fleschReadingEase(prose: string, allWords: readonly Span[] = words(prose), allSentences: readonly Span[] = sentences(prose)): Readability {
  const ws = allWords.filter((w) => HAS_LETTER.test(w.text));
  const sentenceCount = Math.max(1, allSentences.filter((s) => HAS_LETTER.test(s.text)).length);
  if (ws.length === 0) return { score: 100, words: 0, sentences: 0 };
  let syllableCount = 0;
  for (const w of ws) syllableCount += syllables(w.text);
  const score = 206.835 - 1.015 * (ws.length / sentenceCount) - 84.6 * (syllableCount / ws.length);
  return { score: Math.round(score * 10) / 10, words: ws.length, sentences: sentenceCount };
}

/** Vowel groups, less a silent final "e" (but not "-le", "-ee"), less the silent "e" of "-ed"/"-es" after most consonants. */
export function syllables(word: string): number {
  const w = word.toLowerCase();
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

/** The coarse label for a score. */
export function readabilityLabel(score: number): string {
  if (score >= 60) return 'readability:easy';
  if (score >= 30) return 'readability:standard';
  if (score >= 0) return 'readability:difficult';
  return 'readability:very_difficult';
}
