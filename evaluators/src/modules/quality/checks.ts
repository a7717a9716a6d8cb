/**
 * The structural quality checks that need no dictionary: a doubled word ("the the") and an answer
 * that stops mid-way (ends on a colon, a comma or a dangling "the"/"and", an unclosed code fence, an
 * empty list item, or fewer list items than it promised: "Here are 5 steps:" then three).
 *
 * @example
 *   repeatedWords('Install the the package.'); // [{ text: 'the the', start: 8, end: 15 }]
 *   incompleteness('Here are the steps:');     // 'ends with a colon that introduces nothing'
 */
import { maskCode, words, type Span } from './text.js';

/** Doubles that are good English ("had had", "that that") or deliberate ("bye bye"). */
const LEGIT_DOUBLES = new Set(['had', 'that', 'is', 'bye', 'ha', 'no', 'yes', 'so', 'knock', 'tsk', 'blah', 'la', 'ho', 'hey', 'well', 'very', 'really', 'chop', 'walla', 'night', 'tut', 'dum', 'pooh', 'go', 'now', 'there', 'boo', 'bang', 'come', 'out', 'in']);
const BETWEEN = /^[ \t]+$/;

/** Doubled words in `prose` (text with code masked out), given its words. */
export function repeatedWords(prose: string, ws: readonly Span[] = words(prose)): Span[] {
  const out: Span[] = [];
  for (let i = 1; i < ws.length; i++) {
    const a = ws[i - 1]!;
    const b = ws[i]!;
    if (a.text.length !== b.text.length || a.text.toLowerCase() !== b.text.toLowerCase()) continue;
    const lower = a.text.toLowerCase();
    if (LEGIT_DOUBLES.has(lower) || /\P{L}/u.test(lower) || (lower.length === 1 && lower !== 'a')) continue;
    if (!BETWEEN.test(prose.slice(a.end, b.start))) continue;
    out.push({ text: prose.slice(a.start, b.end), start: a.start, end: b.end });
  }
  return out;
}

const DANGLING = new Set(['the', 'a', 'an', 'and', 'or', 'to', 'of', 'with', 'for', 'in', 'on', 'that', 'which', 'because', 'but', 'is', 'are', 'was', 'were', 'by', 'from', 'as', 'if', 'then', 'your', 'their', 'its', 'our', 'my', 'this', 'these', 'into', 'than', 'when', 'while', 'such']);
const NUMBER_WORDS: Record<string, number> = { two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10 };
const PROMISE = /\b(?:here are|these are|the following|follow these|there are|consider these|try these|below are)\s+(?:the\s+)?(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)\s+(?:[a-z-]+\s+){0,2}?(?:steps|ways|reasons|tips|options|things|ideas|methods|approaches|examples|points|factors|strategies|benefits|differences|items|questions|stages|phases|rules|causes|solutions)\b/gi;
const HAS_PROMISE = /\b(?:are|following|these)\b/i;
const LIST_ITEM = /^[ \t]*(?:\d{1,2}[.)]|[-*•+]|#{2,6})[ \t]+\S/gm;
const ITEM_AT = /[ \t]*(?:\d{1,2}[.)]|[-*•+]|#{2,6})[ \t]+\S/y;
const EMPTY_ITEM = /(?:^|\n)[ \t]*(?:\d{1,2}[.)]|[-*•+])[ \t]*$/;
const FENCE_LINE = /^[ \t]*```/gm;
const ENDS_IN_LETTER = /\p{L}$/u;

/** Why the text looks unfinished, with where the evidence is, or null when it looks finished. */
export function incompleteness(text: string, masked: string = maskCode(text)): { reason: string; start: number; end: number } | null {
  const trimmed = text.trimEnd();
  if (trimmed.length === 0) return null;
  const fences = text.includes('```') ? (text.match(FENCE_LINE)?.length ?? 0) : 0;
  if (fences % 2 === 1) {
    const at = text.lastIndexOf('```');
    return { reason: 'a code block is opened and never closed', start: at, end: trimmed.length };
  }
  const prose = masked.slice(0, trimmed.length).trimEnd();
  if (prose.length === 0) return null;
  // an answer that ends in code (a closed block, a URL) ends with what its last words introduced
  const endsInCode = prose.length < trimmed.length;
  const lastLineStart = prose.lastIndexOf('\n') + 1;
  // The end-of-text tests read the end only (an unanchored `…$` regex tries every position of the text):
  // the last line from its newline for an empty item, the last code point (at most two units) for a letter.
  if (!endsInCode && prose.endsWith(':')) return { reason: 'ends with a colon that introduces nothing', start: lastLineStart, end: prose.length };
  if (!endsInCode && EMPTY_ITEM.test(prose.slice(Math.max(0, lastLineStart - 1)))) return { reason: 'ends with an empty list item', start: lastLineStart, end: prose.length };
  const endsInPause = prose.endsWith(',') || prose.endsWith(';');
  if (!endsInCode && (endsInPause || ENDS_IN_LETTER.test(prose.slice(-2)))) {
    const last = /(\p{L}+)[,;]?$/u.exec(prose.slice(-40));
    if (endsInPause || (last && DANGLING.has(last[1]!.toLowerCase()) && !/^\s*[-*•#]/.test(prose.slice(lastLineStart)))) {
      return { reason: `stops mid-sentence ("…${prose.slice(-24).trimStart()}")`, start: lastLineStart, end: prose.length };
    }
  }
  if (!HAS_PROMISE.test(prose)) return null;
  // The list items' positions once; each promise then counts those after it by binary search (counting
  // them in the rest of the text for each promise took minutes on a long answer full of promises).
  const itemStarts = Array.from(prose.matchAll(LIST_ITEM), (m) => m.index);
  for (const m of prose.matchAll(PROMISE)) {
    const promised = NUMBER_WORDS[m[1]!.toLowerCase()] ?? Number(m[1]);
    const end = m.index + m[0].length;
    // an item right where the promise ends, mid-line, counts too (the rest of the text starts a line)
    ITEM_AT.lastIndex = end;
    const items = itemStarts.length - firstAtOrAfter(itemStarts, end) + (prose[end - 1] !== '\n' && ITEM_AT.test(prose) ? 1 : 0);
    if (items > 0 && items < promised) {
      return { reason: `promises ${promised} ${m[0].split(/\s+/).pop()} but lists ${items}`, start: m.index, end: m.index + m[0].length };
    }
  }
  return null;
}

/** Index of the first value at or after `position` in an ascending array. */
function firstAtOrAfter(sorted: readonly number[], position: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
