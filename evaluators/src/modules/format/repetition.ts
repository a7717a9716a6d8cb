/**
 * Loop detection for the `format` module: a phrase that repeats back to back ("I apologize for the
 * confusion. I apologize for the confusion. ...") is the classic degenerate-decoding failure. The
 * text is hashed word by word (no strings allocated) and, for every period p up to `maxPeriod` words,
 * the longest run where word[i] equals word[i - p] is tracked. A loop is a unit of p words seen at
 * least `minCopies` times in a row covering at least `minWords` words; a single word needs many more
 * copies, so "very, very good" or "no, no, no" never count. Code blocks are skipped: code repeats
 * legitimately.
 *
 * @example
 *   detectRepetition('Sure! Let me check. Let me check. Let me check. Let me check.', {})
 *   // → { unit: 'let me check', copies: 4, start: 6, end: 62 }
 */

export interface RepetitionOptions {
  /** Longest repeated unit considered, in words (default 40). */
  maxPeriod?: number;
  /** Copies of a multi-word unit in a row needed (default 3). */
  minCopies?: number;
  /** Copies of a one-word unit in a row needed (default 10). */
  minSingleWordCopies?: number;
  /** Words the looped span must cover at least (default 12). */
  minWords?: number;
}

export interface Repetition {
  unit: string;
  copies: number;
  start: number;
  end: number;
}

let hashes = new Int32Array(1024);
let starts = new Int32Array(1024);
let ends = new Int32Array(1024);

const TABLE_BITS = 12;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
const lastAt = new Int32Array(1 << TABLE_BITS);
let previous = new Int32Array(1024);

export function detectRepetition(text: string, options: RepetitionOptions): Repetition | null {
  const maxPeriod = options.maxPeriod ?? 40;
  const minCopies = options.minCopies ?? 3;
  const minSingle = options.minSingleWordCopies ?? 10;
  const minWords = options.minWords ?? 12;
  const count = tokenize(text);
  if (count < minWords) return null;
  if (previous.length < count) previous = new Int32Array(hashes.length);
  // previous[i]: the last earlier word with the same hash bucket, so each word visits only its
  // recent equals instead of every period.
  lastAt.fill(-1);
  // Locals, not the module bindings, inside the loops: V8 reloads module-level lets on every access.
  const hash = hashes;
  const prev = previous;
  const runLength = new Int32Array(maxPeriod + 1);
  const runEnd = new Int32Array(maxPeriod + 1).fill(-2);
  let best: { period: number; runEnd: number; run: number } | null = null;
  for (let i = 0; i < count; i++) {
    const h = hash[i] as number;
    const bucket = h & TABLE_MASK;
    prev[i] = lastAt[bucket] as number;
    lastAt[bucket] = i;
    for (let j = prev[i] as number; j >= 0 && i - j <= maxPeriod; j = prev[j] as number) {
      if (hash[j] !== h) continue;
      const p = i - j;
      const run = runEnd[p] === i - 1 ? (runLength[p] as number) + 1 : 1;
      runLength[p] = run;
      runEnd[p] = i;
      const copies = Math.floor(run / p) + 1;
      const needed = p === 1 ? minSingle : minCopies;
      if (copies >= needed && run + p >= minWords && (best === null || run + p > best.run + best.period)) {
        best = { period: p, runEnd: i, run };
      }
    }
  }
  if (best === null) return null;
  const firstWord = best.runEnd - best.run - best.period + 1;
  const unitWords: string[] = [];
  for (let w = firstWord; w < firstWord + best.period; w++) unitWords.push(text.slice(starts[w], ends[w]).toLowerCase());
  return {
    unit: unitWords.join(' '),
    copies: Math.floor((best.run + best.period) / best.period),
    start: starts[firstWord] as number,
    end: ends[best.runEnd] as number,
  };
}

/**
 * What an ASCII character contributes to a word's hash: its lower-case code for a letter, digit or
 * apostrophe, 0 for a character that ends a word. Beyond ASCII every character is a word character
 * (hashed as is) except general punctuation (U+2000–U+206F, which holds ’).
 */
const ASCII_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const lower = c >= 65 && c <= 90 ? c + 32 : c;
  if ((lower >= 97 && lower <= 122) || (c >= 48 && c <= 57) || c === 39) ASCII_WORD[c] = lower;
}

/** What a UTF-16 unit contributes to a word's hash (its lower-case code), or 0 when it ends a word. */
export function wordCharCode(c: number): number {
  return c < 128 ? (ASCII_WORD[c] as number) : c >= 0x2000 && c <= 0x206f ? 0 : c;
}

/** Fills `hashes`/`starts`/`ends` with the words of `text` outside ``` blocks; returns the count. */
function tokenize(text: string): number {
  let count = 0;
  let hash = hashes;
  let start = starts;
  let stop = ends;
  let inFence = false;
  let h = 0;
  let wordStart = -1;
  // only spaces and tabs since the last newline: a ``` here opens or closes a fence (tracked as we go;
  // looking back along the line at every backtick was quadratic on a long line of them)
  let blankLine = true;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 32;
    const fenceCanStart = blankLine;
    blankLine = c === 10 ? true : c === 32 || c === 9 ? blankLine : false;
    if (c === 96 && fenceCanStart && text.startsWith('```', i)) {
      inFence = !inFence;
      i += 2;
      wordStart = -1;
      continue;
    }
    if (inFence) continue;
    const lower = wordCharCode(c);
    if (lower !== 0) {
      if (wordStart < 0) {
        wordStart = i;
        h = 0x811c9dc5 | 0;
      }
      h = Math.imul(h ^ lower, 0x01000193);
    } else if (wordStart >= 0) {
      if (count === hash.length) {
        grow();
        hash = hashes;
        start = starts;
        stop = ends;
      }
      hash[count] = h;
      start[count] = wordStart;
      stop[count] = i;
      count++;
      wordStart = -1;
    }
  }
  return count;
}

function grow(): void {
  const size = hashes.length * 2;
  const h = new Int32Array(size);
  const s = new Int32Array(size);
  const e = new Int32Array(size);
  h.set(hashes);
  s.set(starts);
  e.set(ends);
  hashes = h;
  starts = s;
  ends = e;
}
