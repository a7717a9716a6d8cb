/**
 * Literal phrase matching for an org's own lexicon (`extra_terms`, `allow`) in linear time. An org
 * may send thousands of phrases: as one regex alternation they cost (phrases × text) and stalled
 * evaluation for tens of seconds on a long output. Here every phrase is hashed once; the text is
 * hashed once (a prefix polynomial hash, so any substring's hash is O(1)); each position where a word
 * can start is then compared only with the phrase lengths that start with its first two characters,
 * and a hash hit is confirmed by comparing the characters. The hash base is drawn at random per
 * process, so collisions cannot be prepared in advance.
 *
 * Semantics match the lexicon's (normalized text, see normalize.ts): a phrase's single space matches
 * a run of spaces; a match starts after no `[a-z0-9']` and ends before no `[a-z0-9]`. At each position
 * the longest phrase wins, and matches do not overlap.
 *
 * @example
 *   const set = compilePhrases(['3d printed receiver', 'ghost gun']);
 *   set.match(normalize('A 3D  printed receiver!').text) // → [{ id: 0, from: 2, to: 23 }]
 */
import { randomInt } from 'node:crypto';

export interface PhraseMatch {
  /** Index of the phrase in the list given to `compilePhrases`. */
  id: number;
  /** Offsets in the (normalized) text matched. */
  from: number;
  to: number;
}

export interface PhraseSet {
  readonly size: number;
  match(text: string): PhraseMatch[];
}

const BASE = 2 * randomInt(1 << 20, 1 << 30) + 1; // odd, so powers never vanish mod 2^32
const isWordStart = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 39;
const isWordEnd = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
const pairKey = (a: number, b: number) => a * 65_536 + b;

function hashOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, BASE) + s.charCodeAt(i)) >>> 0;
  return h;
}

/** Phrases already normalized (lower case, single spaces, trimmed); empty ones are ignored. */
export function compilePhrases(phrases: readonly string[]): PhraseSet {
  // length → hash → phrase ids
  const byLength = new Map<number, Map<number, number[]>>();
  // first two characters → the lengths of the phrases that start with them
  const lengthsByPair = new Map<number, number[]>();
  let longest = 0;
  let size = 0;
  phrases.forEach((phrase, id) => {
    if (phrase.length === 0) return;
    size++;
    const L = phrase.length;
    longest = Math.max(longest, L);
    let hashes = byLength.get(L);
    if (hashes === undefined) byLength.set(L, (hashes = new Map()));
    const h = hashOf(phrase);
    const ids = hashes.get(h);
    if (ids === undefined) hashes.set(h, [id]);
    else ids.push(id);
    const key = pairKey(phrase.charCodeAt(0), L > 1 ? phrase.charCodeAt(1) : -1);
    const lengths = lengthsByPair.get(key) ?? [];
    if (!lengths.includes(L)) lengthsByPair.set(key, [...lengths, L].sort((a, b) => b - a)); // longest first
  });
  const power = new Uint32Array(longest + 1);
  power[0] = 1;
  for (let i = 1; i <= longest; i++) power[i] = Math.imul(power[i - 1] as number, BASE) >>> 0;

  return {
    size,
    match(text: string): PhraseMatch[] {
      if (size === 0 || text.length === 0) return [];
      // Runs of spaces count as one: match on the collapsed text, report offsets in the given one.
      const collapsed = collapseSpaces(text);
      const t = collapsed.text;
      const n = t.length;
      const prefix = new Uint32Array(n + 1);
      for (let i = 0; i < n; i++) prefix[i + 1] = (Math.imul(prefix[i] as number, BASE) + t.charCodeAt(i)) >>> 0;
      const found: PhraseMatch[] = [];
      for (let i = 0; i < n; i++) {
        if (i > 0 && isWordStart(t.charCodeAt(i - 1))) continue;
        const two = i + 1 < n ? lengthsByPair.get(pairKey(t.charCodeAt(i), t.charCodeAt(i + 1))) : undefined;
        const one = lengthsByPair.get(pairKey(t.charCodeAt(i), -1));
        if (two === undefined && one === undefined) continue;
        for (const L of one === undefined ? (two as number[]) : two === undefined ? one : [...two, ...one]) {
          if (i + L > n || (i + L < n && isWordEnd(t.charCodeAt(i + L)))) continue;
          const h = ((prefix[i + L] as number) - Math.imul(prefix[i] as number, power[L] as number)) >>> 0;
          const ids = byLength.get(L)?.get(h);
          const id = ids?.find((candidate) => t.startsWith(phrases[candidate] as string, i));
          if (id === undefined) continue;
          found.push({ id, from: collapsed.at(i), to: collapsed.at(i + L - 1) + 1 });
          i += L - 1; // no overlaps: go on after the match
          break;
        }
      }
      return found;
    },
  };
}

/** The text with each run of spaces made one space, and the given offset of each collapsed offset. */
function collapseSpaces(text: string): { text: string; at(i: number): number } {
  if (!text.includes('  ')) return { text, at: (i) => i };
  const origin = new Int32Array(text.length);
  let out = '';
  let k = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 32 && i > 0 && text.charCodeAt(i - 1) === 32) {
      out += text.slice(from, i);
      from = i + 1;
      continue;
    }
    origin[k++] = i;
  }
  out += text.slice(from);
  return { text: out, at: (i) => origin[i] as number };
}
