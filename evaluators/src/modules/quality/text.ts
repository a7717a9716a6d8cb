/**
 * Text primitives shared by the `quality` and `consistency` modules: words and sentences with their
 * character offsets, code masked out without moving offsets, and numbers read as values. Everything
 * here is a single pass of a regular expression over the text, so a 2 KB answer costs microseconds.
 *
 * @example
 *   const prose = maskCode('Run `npm ci` first.'); // 'Run          first.' (same length)
 *   sentences(prose).map((s) => s.text);          // ['Run          first.']
 */

export interface Span {
  text: string;
  start: number;
  end: number;
}

/**
 * Replaces fenced blocks, inline code, URLs, e-mail addresses and file paths with spaces (offsets
 * stay valid). Each pattern runs only when its marker character is in the text, so plain prose costs
 * four `includes` calls.
 */
export function maskCode(text: string): string {
  let out = text;
  if (out.includes('`')) out = out.replace(CODE, blank);
  if (out.includes('://') || out.includes('www.')) out = out.replace(URL, blank);
  if (out.includes('@')) out = maskEmails(out);
  if (out.includes('/')) out = out.replace(PATH, blank);
  return out;
}
const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]*`/g;
const URL = /\b(?:https?:\/\/|www\.)[^\s)>\]]+/g;
const isLocal = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 43 || c === 45;
const isLabel = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;

/**
 * Blanks what `/[\w.+-]+@[\w-]+\.[\w.-]+/g` matches, working from each "@" so that every character
 * is read a bounded number of times (that regex retried from every character of a long run of word
 * characters before an "@": quadratic, half an hour on a 1 MB answer).
 */
function maskEmails(text: string): string {
  const parts: string[] = [];
  let copied = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > copied && isLocal(text.charCodeAt(start - 1))) start--;
    if (start === at) continue;
    let end = at + 1;
    while (end < text.length && isLabel(text.charCodeAt(end))) end++;
    if (end === at + 1 || text.charCodeAt(end) !== 46) continue;
    const afterDot = end + 1;
    end = afterDot;
    while (end < text.length && (isLabel(text.charCodeAt(end)) || text.charCodeAt(end) === 46)) end++;
    if (end === afterDot) continue;
    parts.push(text.slice(copied, start), ' '.repeat(end - start));
    copied = end;
    at = end - 1;
  }
  if (copied === 0) return text;
  parts.push(text.slice(copied));
  return parts.join('');
}
const PATH = /(?<=^|\s)(?:\.{1,2}|~)?\/[\w./-]+/g;
function blank(m: string): string {
  return m.replace(/[^\n]/g, ' ');
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}_'’-]*/gu;
const TRAILING = /['’-]+$/;

/** Word tokens (letters and digits, with inner apostrophes and hyphens) and where they are. */
export function words(text: string): readonly Span[] {
  const out: Span[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m; m = WORD.exec(text)) {
    let w = m[0];
    const last = w.charCodeAt(w.length - 1);
    if (last === 0x27 || last === 0x2019 || last === 0x2d) w = w.replace(TRAILING, '');
    out.push({ text: w, start: m.index, end: m.index + w.length });
  }
  return out;
}

const ABBREVIATIONS = new Set(['e.g', 'i.e', 'etc', 'vs', 'mr', 'mrs', 'ms', 'dr', 'prof', 'inc', 'ltd', 'co', 'jr', 'sr', 'st', 'no', 'approx', 'fig', 'u.s', 'a.m', 'p.m']);
const LIST_NUMBER = /^\s*\d{1,2}$/;
// A run of end marks is only tried from its first mark (the lookbehind): tried from each, a long run
// not followed by a space cost its length squared.
const BOUNDARY = /(?<![.!?。！？])[.!?。！？]+["')\]]*(?=\s|$)|\n+/g;
/** The word a period follows (an abbreviation, or an initial: one capital). */
const WORD_BEFORE_PERIOD = /(?:^|[\s(])([\p{L}.]+)$/u;
const INITIAL = /^\p{Lu}$/u;

/**
 * Sentences (and list items / lines, which LLM answers use as sentences) with offsets, trimmed.
 * A period after a known abbreviation ("e.g.", "Dr.") does not end a sentence.
 */
export function sentences(text: string): readonly Span[] {
  const out: Span[] = [];
  let from = 0;
  for (const m of text.matchAll(BOUNDARY)) {
    const end = m.index + m[0].length;
    if (m[0][0] === '.' && m[0].length === 1) {
      if (LIST_NUMBER.test(text.slice(from, m.index))) continue;
      const before = WORD_BEFORE_PERIOD.exec(text.slice(Math.max(from, m.index - 8), m.index));
      if (before && (ABBREVIATIONS.has(before[1]!.toLowerCase()) || INITIAL.test(before[1]!))) continue;
    }
    push(out, text, from, end);
    from = end;
  }
  push(out, text, from, text.length);
  return out;
}

function push(out: Span[], text: string, start: number, end: number): void {
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  if (end > start) out.push({ text: text.slice(start, end), start, end });
}

/** What `\s` matches, for one UTF-16 unit (without a regex and a one-character string per test). */
export function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const SCALE: Record<string, number> = {
  k: 1e3, thousand: 1e3, m: 1e6, mm: 1e6, mn: 1e6, million: 1e6, millions: 1e6, b: 1e9, bn: 1e9, billion: 1e9, billions: 1e9, t: 1e12, trillion: 1e12,
};
const NUMBER = /(?<![\p{L}\p{N}_.,])([$€£¥])?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(%|(?:k|m|mm|mn|b|bn|t|thousand|millions?|billions?|trillion)\b))?(?![\p{L}_]|[.,]\d)/giu;

export interface NumberMention extends Span {
  /** The value with its scale applied ("$5M" → 5000000). */
  value: number;
  currency: string | null;
  percent: boolean;
}

/** Numbers as values: "1,200", "$5M", "7 million", "12.5%". Digits inside words (gpt4, v2) are not numbers. */
export function numbers(text: string): NumberMention[] {
  const out: NumberMention[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const unit = m[4]?.toLowerCase() ?? null;
    const base = Number(m[2]!.replace(/,/g, '') + (m[3] ?? ''));
    // a bare letter is a scale after a currency ($5M) but more likely a unit otherwise (5 m, 3 t)
    const scale = unit && unit !== '%' && (m[1] || unit.length > 2) ? SCALE[unit] ?? 1 : 1;
    out.push({ text: m[0], start: m.index, end: m.index + m[0].length, value: base * scale, currency: m[1] ?? null, percent: unit === '%' });
  }
  return out;
}

/** A compact key for a number value, so "5,000,000", "5M" and "5 million" compare equal. */
export function numberKey(n: Pick<NumberMention, 'value' | 'percent'>): string {
  return (n.percent ? '%' : '') + String(Math.round(n.value * 1000) / 1000);
}

/** Common English function words: never content, never evidence of a claim. */
export const STOPWORDS = new Set(
  ('a an the and or but if then so of to in on at by for with from into onto about as than that this these those there here ' +
    'is are was were be been being am do does did done has have had having it its it\'s they them their we our you your i me my he him his she her ' +
    'will would can could should may might must shall not no nor never also just only very too more most less least much many some any all each ' +
    'which who whom whose what when where why how while because since until up down out over under again further once both either neither ' +
    'such own same other another yes ok okay please let let\'s via per etc e.g i.e however therefore thus hence though although whether ' +
    'one s t don\'t doesn\'t isn\'t aren\'t wasn\'t weren\'t can\'t cannot won\'t')
    .split(' '),
);

/** Lowercase, with a light plural/verb -s stemming ("supports" → "support", "policies" → "policy"). */
export function stem(word: string): string {
  const lower = word.toLowerCase();
  const w = lower.includes('’') ? lower.replace(/’/g, "'") : lower;
  if (w.length > 4 && w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) return w.slice(0, -1);
  return w;
}

const NON_WORD = /[^\p{L}\p{N}'’]+/u;

/** Stemmed content words of a text (stopwords and one-letter tokens dropped). */
export function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().split(NON_WORD)) {
    if (raw.length < 2) continue;
    const w = raw.includes('’') ? raw.replace(/’/g, "'") : raw;
    if (STOPWORDS.has(w)) continue;
    out.push(stem(w));
  }
  return out;
}
