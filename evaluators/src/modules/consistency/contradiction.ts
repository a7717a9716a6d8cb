/**
 * Contradictions inside one answer, in three shapes that lexical evidence can show with few false
 * alarms:
 * - a statement and its negation: two sentences with the same content words, one negated
 *   ("The endpoint supports pagination." … "The endpoint does not support pagination.");
 * - two figures for the same quantity: sentences alike but for one value
 *   ("Revenue was $5M." … "Revenue was $7M."), rounding and approximations tolerated;
 * - a yes/no flip: the answer opens with "Yes" and concludes "no" (or the reverse).
 * Sentences that report or question a claim ("some say", "a common myth", "if", "?") are not claims.
 * Pairs are looked for within `PAIR_WINDOW` sentences of each other.
 *
 * @example
 *   contradictions('Yes, it is safe. … In short, no.')[0].kind; // 'yes_no_flip'
 */
import { numbers, sentences, stem, STOPWORDS, type NumberMention, type Span } from '../quality/text.js';

export interface Contradiction {
  shape: 'negation' | 'figures' | 'yes_no_flip';
  message: string;
  /** The later of the two statements. */
  start: number;
  end: number;
}

/**
 * Two statements are compared only when at most this many sentences apart: a long answer then costs
 * (sentences × window) comparisons, not (sentences²) — seconds on a 64 KB answer of short sentences.
 */
export const PAIR_WINDOW = 256;

const NEGATIONS = new Set(['not', 'never', 'no', "n't", 'cannot']);
const HAS_NEGATION = /\b(?:not|never|no|cannot)\b|n['’]t\b/i;
const NON_WORD = /[^\p{L}\p{N}']+/u;
const NON_ALNUM = /[^\p{L}\p{N}]+/u;
const CONTRACTIONS = new Map<string, string[]>(Object.entries({
  "isn't": ['is', 'not'], "aren't": ['are', 'not'], "wasn't": ['was', 'not'], "weren't": ['were', 'not'], "don't": ['do', 'not'],
  "doesn't": ['does', 'not'], "didn't": ['did', 'not'], "can't": ['can', 'not'], cannot: ['can', 'not'], "won't": ['will', 'not'],
  "wouldn't": ['would', 'not'], "shouldn't": ['should', 'not'], "couldn't": ['could', 'not'], "hasn't": ['has', 'not'],
  "haven't": ['have', 'not'], "hadn't": ['had', 'not'], "mustn't": ['must', 'not'],
}));
/** Words that carry neither the claim nor its polarity. */
const NEUTRAL = new Set(
  'a an the is are was were be been am do does did also indeed actually really definitely certainly in fact however but and so then still just yes of course to sum up summary conclusion short overall therefore thus'.split(' '),
);
const HAVE = new Set(['has', 'have', 'had']);
/** Markers of a sentence that is not the answer's own assertion. */
const NOT_A_CLAIM = /\?|\b(?:if|whether|unless|some (?:people|say|claim)|people (?:say|think|believe)|claim(?:s|ed)?|myth|misconception|believe[sd]?|rumou?r|suppose|assume|might|may|could|sometimes|often|usually|always|when|only|except|unless|until|depending|default)\b/i;

interface Claim extends Span {
  key: string;
  negated: boolean;
  words: Set<string>;
}

const CLAIM_BREAK = /[,;:]\s+|\s+(?:but|so|which|because|while|whereas|and therefore)\s+/g;

/** A sentence's clauses: "X is Y, so you can Z" states "X is Y" on its own. */
function claimClauses(s: Span): Span[] {
  const out: Span[] = [];
  let from = 0;
  for (const m of s.text.matchAll(CLAIM_BREAK)) {
    out.push({ text: s.text.slice(from, m.index), start: s.start + from, end: s.start + m.index });
    from = m.index + m[0].length;
  }
  out.push({ text: s.text.slice(from), start: s.start + from, end: s.end });
  return out;
}

/**
 * Two claims of opposite polarity about the same thing: the same content words, or the content words
 * of one (three or more) all inside the other ("Data is not encrypted" vs "Data is encrypted with AES").
 */
function negationPair(as: readonly Claim[], bs: readonly Claim[]): [Claim, Claim] | null {
  for (const b of bs) {
    for (const a of as) {
      if (a.negated === b.negated) continue;
      if (a.key === b.key) return [a, b];
      const [small, large] = a.words.size <= b.words.size ? [a, b] : [b, a];
      if (small.words.size >= 3 && [...small.words].every((w) => large.words.has(w))) return [a, b];
    }
  }
  return null;
}

/**
 * Statement/negation pairs. Only sentences with a negation can start a pair, and only sentences that
 * contain the negated claim's longest word can complete it, so most sentences are never analysed.
 */
function negations(ss: readonly Span[]): Contradiction[] {
  // Each sentence judged once, and only as far as needed: a negation first (rare), then whether it is a claim.
  const claimLike: Array<boolean | undefined> = new Array(ss.length);
  const isClaim = (i: number) => (claimLike[i] ??= !NOT_A_CLAIM.test(ss[i]!.text));
  const negated = ss.map((s, i) => HAS_NEGATION.test(s.text) && isClaim(i));
  if (!negated.includes(true)) return [];
  const claims = new Map<number, Claim[]>();
  const claimsOf = (i: number): Claim[] => {
    let c = claims.get(i);
    if (!c) claims.set(i, (c = claimClauses(ss[i]!).map(claimOf).filter((x): x is Claim => x !== null)));
    return c;
  };
  const later = new Map<number, Contradiction>();
  // Each sentence lower-cased and judged at most once, not once per negated sentence: the pairs loop
  // below is then a substring test per pair (it was a regex and a copy per pair, seconds on a long answer).
  const lowered: Array<string | undefined> = new Array(ss.length);
  const lower = (i: number) => (lowered[i] ??= ss[i]!.text.toLowerCase());
  for (let n = 0; n < ss.length; n++) {
    if (!negated[n]) continue;
    for (const claim of claimsOf(n)) {
      if (!claim.negated) continue;
      let anchor = '';
      for (const w of claim.words) if (w.length > anchor.length) anchor = w;
      const probe = anchor.slice(0, 5);
      for (let i = Math.max(0, n - PAIR_WINDOW); i < Math.min(ss.length, n + PAIR_WINDOW + 1); i++) {
        // the cheap, selective test first: most sentences lack the probe and are never judged as claims
        if (i === n || later.has(Math.max(i, n)) || !lower(i).includes(probe) || !isClaim(i)) continue;
        const [a, b] = i < n ? [i, n] : [n, i];
        const pair = negationPair(claimsOf(a), claimsOf(b));
        if (pair) later.set(b, { shape: 'negation', message: `"${pair[1].text}" negates the earlier "${pair[0].text}"`, start: pair[1].start, end: pair[1].end });
      }
    }
  }
  return [...later.values()];
}

function claimOf(s: Span): Claim | null {
  if (s.text.length < 8) return null;
  let negated = false;
  const content: string[] = [];
  const lower = s.text.toLowerCase();
  for (const raw of (lower.includes('’') ? lower.replace(/’/g, "'") : lower).split(NON_WORD)) {
    if (raw === '') continue;
    const parts = CONTRACTIONS.get(raw) ?? [raw];
    for (const p of parts) {
      if (NEGATIONS.has(p)) negated = !negated;
      else if (!NEUTRAL.has(p)) content.push(HAVE.has(p) ? 'have' : stem(p));
    }
  }
  if (content.length < 2) return null;
  const unique = [...new Set(content)].sort();
  return { ...s, key: unique.join(' '), negated, words: new Set(unique) };
}

const FILLER = new Set(['total', 'overall', 'approximately', 'about', 'around', 'roughly', 'mentioned', 'noted', 'stated', 'final', 'exactly', 'reported']);
const APPROX = /\b(?:about|around|approximately|roughly|nearly|almost|over|under|more than|less than|at least|up to|~)\s*$/i;

const DIGIT = /\d/;
const CLAUSE_BREAK = /[;,]\s+|\s+(?:and|but|while|whereas)\s+/g;

/** The clauses of a sentence that hold a digit ("Revenue was $5M, driven by new contracts" → "Revenue was $5M"). */
function clauses(s: Span): Span[] {
  if (!DIGIT.test(s.text)) return [];
  const out: Span[] = [];
  let from = 0;
  for (const m of s.text.matchAll(CLAUSE_BREAK)) {
    out.push({ text: s.text.slice(from, m.index), start: s.start + from, end: s.start + m.index });
    from = m.index + m[0].length;
  }
  out.push({ text: s.text.slice(from), start: s.start + from, end: s.end });
  return out.filter((c) => DIGIT.test(c.text));
}

interface Figure extends Span {
  words: Set<string>;
  value: NumberMention;
  approximate: boolean;
}

/** Words of a sentence that compares, conditions or forecasts a figure rather than states it. */
const NOT_A_FIGURE = /\b(?:if|from|between|to|vs|versus|compared|instead|previously|was expected|estimated|projected|forecast)\b/i;
/** What precedes a number that labels rather than measures ("step 2", "Q3", "#4"). */
const LABEL_BEFORE = /\b(?:step|version|v|phase|stage|chapter|section|part|item|option|tier|level|q|day|week|month|year|article|rule|point|no|number|#)\.?\s*$/i;

/** A sentence with exactly one value (years and "step 2"-style labels are part of the subject). */
function figureOf(s: Span): Figure | null {
  if (!DIGIT.test(s.text) || s.text.includes('?') || NOT_A_FIGURE.test(s.text)) return null;
  const values = numbers(s.text).filter((n) => !isLabel(s.text, n));
  if (values.length !== 1) return null;
  const value = values[0]!;
  const rest = s.text.slice(0, value.start) + ' ' + s.text.slice(value.end);
  const ws = new Set<string>();
  let named = 0;
  for (const w of rest.toLowerCase().split(NON_ALNUM)) {
    if (w === '' || NEUTRAL.has(w) || (w.length === 1 && !DIGIT.test(w))) continue;
    ws.add(stem(w));
    if (!STOPWORDS.has(w)) named++;
  }
  if (named === 0) return null;
  return { ...s, words: ws, value, approximate: APPROX.test(s.text.slice(Math.max(0, value.start - 24), value.start)) };
}

/** The first clause of a sentence that states one value, as a figure. */
function firstFigure(s: Span): Figure | null {
  for (const c of clauses(s)) {
    const f = figureOf(c);
    if (f) return f;
  }
  return null;
}

function isLabel(text: string, n: NumberMention): boolean {
  if (n.currency || n.percent) return false;
  if (Number.isInteger(n.value) && n.value >= 1900 && n.value <= 2100 && !n.text.includes(',')) return true;
  return LABEL_BEFORE.test(text.slice(Math.max(0, n.start - 16), n.start));
}

function sameQuantity(a: Figure, b: Figure): boolean {
  if (a.value.currency !== b.value.currency || a.value.percent !== b.value.percent) return false;
  let onlyA = 0;
  let onlyB = 0;
  for (const w of a.words) if (!b.words.has(w)) onlyA += FILLER.has(w) ? 0 : 1;
  for (const w of b.words) if (!a.words.has(w)) onlyB += FILLER.has(w) ? 0 : 1;
  // one side may add a few words of its own ("… 120 ms under normal load"), never a number
  return (onlyA === 0 && onlyB <= 3 && !hasDigit(b.words, a.words)) || (onlyB === 0 && onlyA <= 3 && !hasDigit(a.words, b.words));
}

function hasDigit(words: Set<string>, except: Set<string>): boolean {
  for (const w of words) if (!except.has(w) && DIGIT.test(w)) return true;
  return false;
}

function conflicting(a: Figure, b: Figure): boolean {
  const tolerance = a.approximate || b.approximate ? 0.15 : 0.01;
  const larger = Math.max(Math.abs(a.value.value), Math.abs(b.value.value));
  return larger > 0 && Math.abs(a.value.value - b.value.value) / larger > tolerance;
}

const OPENS_YES = /^\s*(?:\*\*)?yes\b[\s,.!:;—-]/i;
const OPENS_NO = /^\s*(?:\*\*)?no\b[\s,.!:;—-]/i;
const CONCLUDES = /\b(?:so|therefore|thus|in short|in conclusion|in summary|to summari[sz]e|overall|bottom line|the answer is|final answer)\s*[,:]?\s*(?:the answer is\s*)?(?:\*\*)?(yes|no)\b(?!\s+(?:one|other|more|longer|need|further|doubt|matter|problem|issue|way))/gi;

/** `ss`: the text's sentences, when already split. */
export function contradictions(text: string, ss: readonly Span[] = sentences(text)): Contradiction[] {
  const found: Contradiction[] = [];

  found.push(...negations(ss));

  const figures = ss.map(firstFigure);
  for (let j = 1; j < ss.length; j++) {
    const fb = figures[j];
    if (!fb) continue;
    for (let i = Math.max(0, j - PAIR_WINDOW); i < j; i++) {
      const fa = figures[i];
      if (fa && sameQuantity(fa, fb) && conflicting(fa, fb)) {
        found.push({ shape: 'figures', message: `"${fb.value.text.trim()}" conflicts with "${fa.value.text.trim()}" for the same quantity ("${fa.text}")`, start: fb.start, end: fb.end });
        break;
      }
    }
  }

  const opensYes = OPENS_YES.test(text);
  const opensNo = OPENS_NO.test(text);
  if (opensYes || opensNo) {
    const firstEnd = ss[0]?.end ?? 0;
    for (const m of text.slice(firstEnd).matchAll(CONCLUDES)) {
      const says = m[1]!.toLowerCase();
      if ((opensYes && says === 'no') || (opensNo && says === 'yes')) {
        const start = firstEnd + m.index;
        found.push({ shape: 'yes_no_flip', message: `the answer opens with "${opensYes ? 'Yes' : 'No'}" but concludes "${m[0].trim()}"`, start, end: start + m[0].length });
        break;
      }
    }
  }
  return found;
}
