/**
 * How close an answer is to the expected answer (`reference`). Similarity is the larger of two
 * views, so that neither paraphrase nor inflection alone sinks a right answer:
 * - recall-weighted token F2 over stemmed content words (a short reference inside a long answer
 *   scores high);
 * - cosine of character trigram counts (robust to "colour"/"color", plural/singular).
 * Separately, a number the reference states is contradicted when the answer states numbers of the
 * same kind (currency, percent, plain) and none of them is that number. A yes/no reference is
 * contradicted by an answer that opens with the other word.
 *
 * @example
 *   referenceSimilarity('The capital of France is Paris.', 'Paris'); // 1
 */
import { contentWords, numbers, numberKey, type NumberMention } from '../quality/text.js';

/** `enough`: a token score at or above it is returned without computing the trigram view. */
export function referenceSimilarity(output: string, reference: string, enough = 1): number {
  const tokens = tokenF2(output, reference);
  return tokens >= enough ? tokens : Math.max(tokens, trigramCosine(output, reference));
}

function tokenF2(output: string, reference: string): number {
  const out = new Set(contentWords(output));
  const ref = new Set(contentWords(reference));
  if (ref.size === 0 || out.size === 0) return ref.size === out.size ? 1 : 0;
  let common = 0;
  for (const w of ref) if (out.has(w)) common++;
  if (common === 0) return 0;
  const precision = common / out.size;
  const recall = common / ref.size;
  return (5 * precision * recall) / (4 * precision + recall);
}

/** Character trigram counts, each trigram packed into one number (three UTF-16 units of 16 bits). */
function trigrams(text: string): Map<number, number> {
  const t = ` ${text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `;
  const grams = new Map<number, number>();
  for (let i = 0; i + 3 <= t.length; i++) {
    const g = t.charCodeAt(i) * 4294967296 + t.charCodeAt(i + 1) * 65536 + t.charCodeAt(i + 2);
    grams.set(g, (grams.get(g) ?? 0) + 1);
  }
  return grams;
}

function trigramCosine(output: string, reference: string): number {
  const a = trigrams(output);
  const b = trigrams(reference);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [g, n] of a) {
    na += n * n;
    dot += n * (b.get(g) ?? 0);
  }
  for (const n of b.values()) nb += n * n;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function kindOf(n: NumberMention): string {
  return n.percent ? '%' : n.currency ? 'currency' : 'plain';
}

/** Numbers of the reference that the answer replaces with other numbers of the same kind. */
export function contradictedNumbers(output: string, reference: string): NumberMention[] {
  const outNumbers = numbers(output);
  const present = new Set(outNumbers.map(numberKey));
  const kinds = new Set(outNumbers.map(kindOf));
  return numbers(reference).filter((n) => kinds.has(kindOf(n)) && !present.has(numberKey(n)));
}

const YES_NO = /^\s*(yes|no)\b/i;

/** When the reference is a bare yes/no, the answer's opening yes/no if it is the other one. */
export function flippedVerdict(output: string, reference: string): string | null {
  const ref = /^\s*(yes|no)\s*[.!]?\s*$/i.exec(reference);
  const out = YES_NO.exec(output);
  if (!ref || !out) return null;
  return ref[1]!.toLowerCase() === out[1]!.toLowerCase() ? null : out[1]!;
}
