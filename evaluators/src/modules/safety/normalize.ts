/**
 * Text normalization for lexicon matching, with a map back to the original offsets. Lower-case;
 * strip diacritics (é → e); drop zero-width and soft-hyphen characters; fold confusable
 * Cyrillic/Greek and fullwidth letters onto ASCII (а е о р с у х і ...); every whitespace, hyphen
 * and underscore becomes one space (runs are kept, so patterns match spaces with ` +`); leetspeak
 * is read as letters inside words (k1ll, b0mb, @ss; not 2024 or "stop!").
 *
 * Plain ASCII text (most traces) maps one to one and takes a fast path with native string
 * operations; `origin`/`originEnd` are then null and offsets are the same in both texts.
 *
 * @example
 *   const n = normalize('Hоw to mаke a p1pe\u200Bb0mb'); // Cyrillic о, а; zero-width space
 *   n.text // 'how to make a pipebomb'
 *   toOriginal(n, 14, 22) // { start: 14, end: 23 }
 */

export interface Normalized {
  text: string;
  /** Original offset of each normalized char; null when the mapping is the identity. */
  origin: Int32Array | null;
  /** Original offset just after each normalized char; null when the mapping is the identity. */
  originEnd: Int32Array | null;
}

// ASCII: lower-case letters, whitespace/hyphen/underscore → space, everything else as is.
const ASCII = new Uint16Array(128);
for (let c = 0; c < 128; c++) ASCII[c] = c >= 65 && c <= 90 ? c + 32 : c;
for (const c of [9, 10, 11, 12, 13, 45, 95]) ASCII[c] = 32;

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
// Confusables: Cyrillic and Greek letters that look like Latin ones; typographic quotes and dashes.
const CONFUSABLE: Record<string, string> = {
  а: 'a', А: 'a', в: 'b', В: 'b', е: 'e', Е: 'e', ё: 'e', к: 'k', К: 'k', м: 'm', М: 'm', н: 'h', Н: 'h',
  о: 'o', О: 'o', р: 'p', Р: 'p', с: 'c', С: 'c', т: 't', Т: 't', у: 'y', У: 'y', х: 'x', Х: 'x',
  і: 'i', І: 'i', ї: 'i', ј: 'j', Ј: 'j', ѕ: 's', Ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ɡ: 'g', ո: 'n',
  α: 'a', Α: 'a', β: 'b', Β: 'b', ε: 'e', Ε: 'e', η: 'n', Η: 'h', ι: 'i', Ι: 'i', κ: 'k', Κ: 'k',
  μ: 'u', Μ: 'm', ν: 'v', Ν: 'n', ο: 'o', Ο: 'o', ρ: 'p', Ρ: 'p', τ: 't', Τ: 't', υ: 'u', Υ: 'y',
  χ: 'x', Χ: 'x', Ζ: 'z', ℓ: 'l', '’': "'", '‘': "'", ʼ: "'", '\u00a0': ' ', '\u2010': ' ', '\u2011': ' ', '\u3000': ' ',
};
for (const [k, v] of Object.entries(CONFUSABLE)) FOLD.set(k.charCodeAt(0), v.charCodeAt(0));
for (let c = 0x2000; c <= 0x200a; c++) FOLD.set(c, 32);
// Fullwidth ASCII (ｋｉｌｌ) → ASCII.
for (let c = 0xff01; c <= 0xff5e; c++) FOLD.set(c, String.fromCharCode(c - 0xfee0).toLowerCase().charCodeAt(0));

function isDropped(c: number): boolean {
  return (c >= 0x200b && c <= 0x200f) || c === 0xad || c === 0x2060 || c === 0xfeff || c === 0x180e || (c >= 0x202a && c <= 0x202e) || (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0x300 && c <= 0x36f);
}

// Leetspeak inside words: a token of letters, digits and @$!| in which a letter touches a digit, or a
// symbol precedes a letter, has its digits read as letters (0→o 1→i 3→e 4→a 5→s 7→t) and its symbols
// too when a letter follows (@→a $→s !→i |→l). "2024", "3.5" and "stop!" stay as they are.
const LEET = new Int32Array(128).fill(-1);
for (const [k, v] of Object.entries({ '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i', '|': 'l' })) LEET[k.charCodeAt(0)] = v.charCodeAt(0);
const isLetter = (c: number) => c >= 97 && c <= 122;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isSymbol = (c: number) => c === 64 || c === 36 || c === 33 || c === 124;

const inToken = (c: number) => isLetter(c) || isDigit(c) || isSymbol(c);

/**
 * Where leetspeak can first start: a digit or symbol before a letter, or a letter before a digit.
 * Every position the loop below rewrites is at such a match or one after it, so a text without one
 * (most prose) is returned after one native regex scan, and the loop starts at the first one.
 */
const LEET_CANDIDATE = /[0-9@$!|][a-z]|[a-z][0-9]/;

/** Reads leetspeak in an already lower-cased text; one to one, so offsets are unchanged. */
export function unleet(text: string): string {
  const first = text.search(LEET_CANDIDATE);
  return first < 0 ? text : unleetFrom(text, first);
}

/** `unleet` reading from `first` on (exported for the test that it equals reading from 0). */
export function unleetFrom(text: string, first: number): string {
  let parts: string[] | null = null;
  let copied = 0;
  const n = text.length;
  for (let i = first; i < n; i++) {
    const c = text.charCodeAt(i);
    if (!(isDigit(c) || isSymbol(c))) continue;
    const prev = i > 0 ? text.charCodeAt(i - 1) : 32;
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 32;
    if (!(isLetter(next) || (isDigit(c) && isLetter(prev)))) continue;
    let start = i;
    while (start > 0 && inToken(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end < text.length && inToken(text.charCodeAt(end))) end++;
    let token = '';
    for (let j = start; j < end; j++) {
      const t = text.charCodeAt(j);
      const mapped = LEET[t] ?? -1;
      const after = j + 1 < end ? text.charCodeAt(j + 1) : 32;
      token += String.fromCharCode(mapped >= 0 && (isDigit(t) || isLetter(after)) ? mapped : t);
    }
    parts ??= [];
    parts.push(text.slice(copied, start), token);
    copied = end;
    i = end - 1;
  }
  if (parts === null) return text;
  parts.push(text.slice(copied));
  return parts.join('');
}

const NON_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_G = /[^\x00-\x7f]/g;
const DROPPED = /[\u200b-\u200f\u00ad\u2060\ufeff\u180e\u202a-\u202e\ufe00-\ufe0f\u0300-\u036f]/;
/** One non-ASCII UTF-16 unit → one unit (folded letter, space, or itself). */
function foldChar(ch: string): string {
  const folded = FOLD.get(ch.charCodeAt(0));
  return folded === undefined ? ch : String.fromCharCode(folded);
}
const SPACE_LIKE = /[\t\n\v\f\r_-]/g;

let buffer = new Uint16Array(4096);
let origin = new Int32Array(4096);
let originEnd = new Int32Array(4096);
const decoder = new TextDecoder('utf-16le');

export function normalize(s: string): Normalized {
  let text: string;
  let map: Pick<Normalized, 'origin' | 'originEnd'> = { origin: null, originEnd: null };
  if (!NON_ASCII.test(s)) {
    text = s.toLowerCase().replace(SPACE_LIKE, ' ');
  } else if (!DROPPED.test(s) && (text = s.toLowerCase()).length === s.length) {
    // Nothing to drop and lower-casing kept the length: fold the non-ASCII characters in place.
    text = text.replace(NON_ASCII_G, foldChar).replace(SPACE_LIKE, ' ');
  } else {
    ({ text, map } = fold(s));
  }
  text = unleet(text); // one to one: offsets unchanged
  return { text, origin: map.origin, originEnd: map.originEnd };
}

function fold(s: string): { text: string; map: Pick<Normalized, 'origin' | 'originEnd'> } {
  const n = s.length;
  if (buffer.length < n) {
    buffer = new Uint16Array(n * 2);
    origin = new Int32Array(n * 2);
    originEnd = new Int32Array(n * 2);
  }
  // Locals, not the module bindings, inside the loop: V8 reloads module-level lets on every access.
  const out = buffer;
  const from = origin;
  const to = originEnd;
  let k = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 128) c = ASCII[c] as number;
    else if (isDropped(c)) continue;
    else {
      const folded = FOLD.get(c);
      if (folded !== undefined) c = folded;
      else if (c < 0xd800 || c > 0xdfff) c = s[i]!.toLowerCase().charCodeAt(0);
    }
    out[k] = c;
    from[k] = i;
    to[k] = i + 1;
    k++;
  }
  return { text: decoder.decode(out.subarray(0, k)), map: { origin: from.slice(0, k), originEnd: to.slice(0, k) } };
}

/** Original [start, end) of a normalized range [from, to). */
export function toOriginal(n: Normalized, from: number, to: number): { start: number; end: number } {
  if (n.origin === null || n.originEnd === null) return { start: from, end: to };
  return { start: n.origin[from] as number, end: n.originEnd[to - 1] as number };
}

/** A pattern source written with single spaces, made to match the runs of spaces normalization keeps. */
export function spaced(source: string): string {
  return source.replace(/ /g, ' +');
}

/** [start, end) of every match of a global regex: the stem hits `matchNear` windows around. */
export function regexHits(text: string, re: RegExp): Array<[number, number]> {
  const hits: Array<[number, number]> = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    hits.push([m.index, m.index + m[0].length]);
  }
  return hits;
}

/**
 * Matches of `pattern` (global) only near `hits` (sorted stem positions): most texts have few stem
 * hits, and a big alternation is costly at every position. Windows start at a word boundary.
 */
export function matchNear(text: string, hits: ReadonlyArray<readonly number[]>, pattern: RegExp, before: number, after: number): Array<{ from: number; to: number }> {
  const found: Array<{ from: number; to: number }> = [];
  let windowStart = -1;
  let windowEnd = -1;
  const flush = () => {
    if (windowStart < 0) return;
    const slice = text.slice(windowStart, windowEnd);
    pattern.lastIndex = 0;
    for (let m = pattern.exec(slice); m !== null; m = pattern.exec(slice)) {
      if (m[0].length === 0) {
        pattern.lastIndex++;
        continue;
      }
      found.push({ from: windowStart + m.index, to: windowStart + m.index + m[0].length });
    }
  };
  for (const hit of hits) {
    const hitStart = hit[0] as number;
    const hitEnd = hit[1] as number;
    let from = Math.max(0, hitStart - before);
    if (from > 0) {
      const space = text.lastIndexOf(' ', from);
      from = space < 0 ? 0 : space + 1;
    }
    let to = Math.min(text.length, hitEnd + after);
    const space = text.indexOf(' ', to);
    to = space < 0 ? text.length : space;
    if (windowStart >= 0 && from <= windowEnd) {
      windowEnd = Math.max(windowEnd, to);
      continue;
    }
    flush();
    windowStart = from;
    windowEnd = to;
  }
  flush();
  return found;
}
