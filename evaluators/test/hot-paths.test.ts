/**
 * The short cuts taken on Tier 1's hot paths give what the general path gives: leetspeak read from
 * the first place it can start equals reading the whole text; a word's ASCII shape predicts what
 * lower-casing it would show; syllables of a word are those of its lower-cased form; reading ease
 * counts the words and sentences that have a letter, as the `\p{L}` test does; `isSpace` is `\s`;
 * the end of a text read from its last line or last code point is what `…$` regexes read; loop
 * detection's character table is its former per-character tests; the harm lexicon's stem index finds
 * what matching every stem at every word start finds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wordCharCode } from '../src/modules/format/repetition.js';
import { fleschReadingEase, syllables } from '../src/modules/quality/readability.js';
import { asciiShape } from '../src/modules/quality/spelling.js';
import { isSpace, sentences, words } from '../src/modules/quality/text.js';
import { createStemIndex } from '../src/modules/safety/lexicon.js';
import { unleet, unleetFrom } from '../src/modules/safety/normalize.js';

const from = (chars: string) => fc.array(fc.constantFrom(...chars), { maxLength: 60 }).map((cs) => cs.join(''));

describe('hot-path short cuts', () => {
  it('tells whitespace as \\s does, for every UTF-16 unit', () => {
    const differ: number[] = [];
    for (let c = 0; c < 65_536; c++) if (isSpace(c) !== /\s/.test(String.fromCharCode(c))) differ.push(c);
    expect(differ).toEqual([]);
  });

  it("reads the end of a text as the unanchored end-of-text regexes of incompleteness did", () => {
    const emptyItem = /(?:^|\n)[ \t]*(?:\d{1,2}[.)]|[-*•+])[ \t]*$/;
    fc.assert(
      fc.property(from('\n \t12.)-*•a,;é𝐀😀'), (s) => {
        expect(emptyItem.test(s.slice(Math.max(0, s.lastIndexOf('\n'))))).toBe(emptyItem.test(s));
        expect(s.endsWith(',') || s.endsWith(';')).toBe(/[,;]$/.test(s));
        expect(/\p{L}$/u.test(s.slice(-2))).toBe(/[\p{L}]$/u.test(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('hashes word characters for loop detection as the per-character tests did, for every UTF-16 unit', () => {
    const differ: number[] = [];
    for (let c = 0; c < 65_536; c++) {
      const lower = c >= 65 && c <= 90 ? c + 32 : c;
      const isWord = ((lower >= 97 && lower <= 122) || (c >= 48 && c <= 57) || c === 39 || c > 127) && !(c === 0x2019 || (c >= 0x2000 && c <= 0x206f));
      if (wordCharCode(c) !== (isWord ? lower : 0)) differ.push(c);
    }
    expect(differ).toEqual([]);
  });

  it('finds harm-lexicon stems at word starts as matching each stem at each word start does', () => {
    const stems = ['the great replacement', 'that', 'th', 'od', 'die', 'dead', 'how many', 'it all', 'any more', 'anymore', 'white p', 'meth', "i'd"];
    const index = createStemIndex();
    stems.forEach((stem, k) => index.add(stem, k % 5));
    const isWord = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 39;
    const naive = (text: string) => {
      const hits: Array<[number, number, number]> = [];
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (!isWord(c) || (i > 0 && isWord(text.charCodeAt(i - 1)))) continue;
        for (const stem of new Set(stems)) {
          const m = new RegExp(`^${stem.replace(/ /g, ' +')}`).exec(text.slice(i));
          const mask = stems.reduce((acc, s, k) => (s === stem ? acc | (1 << k % 5) : acc), 0);
          if (m) hits.push([i, i + m[0].length, mask]);
        }
      }
      return hits;
    };
    const sorted = (hits: Array<[number, number, number]>) => [...hits].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...stems, 'the', 'thy', 'odd', 'an', 'many', ' ', '  ', "'", 'é', 'x'), { maxLength: 12 }).map((parts) => parts.join('')), (text) => {
        expect(sorted(index.scan(text))).toEqual(sorted(naive(text)));
      }),
      { numRuns: 1500 },
    );
  });

  it('reads leetspeak from its first possible start as from the text start', () => {
    fc.assert(
      fc.property(from('ab z01357@$!| \n.'), (text) => {
        expect(unleet(text)).toBe(unleetFrom(text, 0));
      }),
      { numRuns: 2000 },
    );
    expect(unleet('how to make a p1pe b0mb in 2024!')).toBe('how to make a pipe bomb in 2024!');
  });

  it("classifies a word's ASCII shape as lower-casing it would", () => {
    fc.assert(
      fc.property(fc.oneof(from('abzAZ09_-\'’éÉİ'), fc.string({ unit: 'grapheme', maxLength: 12 })), (word) => {
        const lower = word.toLowerCase();
        const shape = asciiShape(word);
        if (shape === 'lower') expect(lower === word && !/[\d_’]/.test(word)).toBe(true);
        if (shape === 'identifier') expect(lower !== word || /[\d_]/.test(lower)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('counts the syllables of a word as those of its lower-cased form', () => {
    fc.assert(
      fc.property(from('aeiouyAEIOUYbcdlstxzBLEİé'), (word) => {
        expect(syllables(word)).toBe(syllables(word.toLowerCase()));
      }),
      { numRuns: 2000 },
    );
  });

  it('scores reading ease over the words and sentences that have a letter', () => {
    const hasLetter = /\p{L}/u;
    fc.assert(
      fc.property(from('ab Éé1_.!? \n,İ日'), (text) => {
        const ws = words(text).filter((w) => hasLetter.test(w.text));
        const sentenceCount = Math.max(1, sentences(text).filter((s) => hasLetter.test(s.text)).length);
        const score = ws.length === 0 ? 100 : Math.round((206.835 - 1.015 * (ws.length / sentenceCount) - 84.6 * (ws.reduce((n, w) => n + syllables(w.text), 0) / ws.length)) * 10) / 10;
        expect(fleschReadingEase(text)).toEqual(ws.length === 0 ? { score: 100, words: 0, sentences: 0 } : { score, words: ws.length, sentences: sentenceCount });
      }),
      { numRuns: 1000 },
    );
  });
});
