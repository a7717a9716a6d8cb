/**
 * Text normalization for lexicon matching, with a map back to the original offsets. One pass:
 * lower-case; strip diacritics (é → e); drop zero-width and soft-hyphen characters; fold confusable
 * Cyrillic/Greek letters onto Latin (а е о р с у х і ...); read leetspeak digits and symbols as letters
 * when they sit inside a word (k1ll, b0mb, @ss); fold hyphens, underscores and whitespace runs to one
 * space. `origin[i]` is the original offset of normalized char i, `originEnd[i]` the offset just after it.
 *
 * @example
 *   const n = normalize('Hоw to mаke a p1pe\u200Bb0mb'); // Cyrillic о, а; zero-width space
 *   n.text // 'how to make a pipebomb'
 */

export interface Normalized {
  text: string;
  origin: Int32Array;
  originEnd: Int32Array;
}

const FOLD = new Map<number, number>();
// Latin letters with diacritics → base letter (computed once from Unicode decomposition).
for (let c = 0xc0; c <= 0x24f; c++) {
  const base = String.fromCharCode(c).normalize('NFD').charCodeAt(0);
  if (base < 128) FOLD.set(c, String.fromCharCode(base).toLowerCase().charCodeAt(0));
}
FOLD.set(0xdf, 115); // ß → s
FOLD.set(0xf8, 111); // ø → o
FOLD.set(0xd8, 111);
FOLD.set(0x131, 105); // dotless ı
// Confusables: Cyrillic and Greek letters that look like Latin ones.
const CONFUSABLE: Record<string, string> = {
  а: 'a', А: 'a', в: 'b', В: 'b', е: 'e', Е: 'e', ё: 'e', к: 'k', К: 'k', м: 'm', М: 'm', н: 'h', Н: 'h',
  о: 'o', О: 'o', р: 'p', Р: 'p', с: 'c', С: 'c', т: 't', Т: 't', у: 'y', У: 'y', х: 'x', Х: 'x',
  і: 'i', І: 'i', ї: 'i', ј: 'j', Ј: 'j', ѕ: 's', Ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ɡ: 'g', ո: 'n',
  α: 'a', Α: 'a', β: 'b', Β: 'b', ε: 'e', Ε: 'e', η: 'n', Η: 'h', ι: 'i', Ι: 'i', κ: 'k', Κ: 'k',
  μ: 'u', Μ: 'm', ν: 'v', Ν: 'n', ο: 'o', Ο: 'o', ρ: 'p', Ρ: 'p', τ: 't', Τ: 't', υ: 'u', Υ: 'y',
  χ: 'x', Χ: 'x', Ζ: 'z', ℓ: 'l', '’': "'", '‘': "'", ʼ: "'",
};
for (const [k, v] of Object.entries(CONFUSABLE)) FOLD.set(k.charCodeAt(0), v.charCodeAt(0));
// Fullwidth ASCII (ｋｉｌｌ) → ASCII.
for (let c = 0xff01; c <= 0xff5e; c++) FOLD.set(c, String.fromCharCode(c - 0xfee0).toLowerCase().charCodeAt(0));

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i', '|': 'l' };
const LEET_CODES = new Int32Array(128).fill(-1);
for (const [k, v] of Object.entries(LEET)) LEET_CODES[k.charCodeAt(0)] = v.charCodeAt(0);

function isInvisible(c: number): boolean {
  return (c >= 0x200b && c <= 0x200f) || c === 0xad || c === 0x2060 || c === 0xfeff || c === 0x180e || (c >= 0x202a && c <= 0x202e) || (c >= 0xfe00 && c <= 0xfe0f);
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0 || c === 45 || c === 95 || (c >= 0x2000 && c <= 0x200a) || c === 0x2010 || c === 0x2011 || c === 0x2013 || c === 0x3000;
}
/** Letter after folding (ASCII lower-case code), or -1 when not a letter. */
function letterAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 97 && c <= 122) return c;
  if (c >= 65 && c <= 90) return c + 32;
  if (c < 128) return -1;
  return FOLD.get(c) ?? -1;
}

let out = new Uint16Array(4096);
let origin = new Int32Array(4096);
let originEnd = new Int32Array(4096);
const decoder = new TextDecoder('utf-16le');

export function normalize(s: string): Normalized {
  const n = s.length;
  if (out.length < n + 1) {
    out = new Uint16Array(n * 2);
    origin = new Int32Array(n * 2);
    originEnd = new Int32Array(n * 2);
  }
  let k = 0;
  let lastSpace = true;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (isInvisible(c)) continue;
    if (isSpace(c)) {
      if (!lastSpace) {
        out[k] = 32;
        origin[k] = i;
        originEnd[k] = i + 1;
        k++;
        lastSpace = true;
      }
      continue;
    }
    if (c >= 65 && c <= 90) c += 32;
    else if (c < 128) {
      const leet = LEET_CODES[c] as number;
      // Leetspeak only inside words: a digit in a word that has a real letter (b00mb, not 2024);
      // a symbol (@ $ ! |) when a letter follows it (@ss, sh!t, not "stop!").
      if (leet >= 0 && (c >= 48 && c <= 57 ? wordHasLetter(s, i) : letterAt(s, nextVisible(s, i)) >= 0)) c = leet;
    } else {
      const folded = FOLD.get(c);
      if (folded !== undefined) c = folded;
      else if (c >= 0x300 && c <= 0x36f) continue; // combining diacritic
      else c = s[i]!.toLowerCase().charCodeAt(0);
    }
    out[k] = c;
    origin[k] = i;
    originEnd[k] = i + 1;
    k++;
    lastSpace = false;
  }
  return { text: decoder.decode(out.subarray(0, k)), origin: origin.slice(0, k), originEnd: originEnd.slice(0, k) };
}

function nextVisible(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length && isInvisible(s.charCodeAt(j))) j++;
  return j;
}
/** Does the word around position i (letters, digits, leet symbols, invisibles) contain a real letter? */
function wordHasLetter(s: string, i: number): boolean {
  const part = (c: number) => (c < 128 ? (LEET_CODES[c] as number) >= 0 || (c >= 48 && c <= 57) : isInvisible(c));
  for (let j = i - 1; j >= 0 && j > i - 40; j--) {
    if (letterAt(s, j) >= 0) return true;
    if (!part(s.charCodeAt(j))) break;
  }
  for (let j = i + 1; j < s.length && j < i + 40; j++) {
    if (letterAt(s, j) >= 0) return true;
    if (!part(s.charCodeAt(j))) break;
  }
  return false;
}

/** Original [start, end) of a normalized range [from, to). */
export function toOriginal(n: Normalized, from: number, to: number): { start: number; end: number } {
  return { start: n.origin[from] as number, end: n.originEnd[to - 1] as number };
}
