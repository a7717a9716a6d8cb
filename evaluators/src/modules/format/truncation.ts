/**
 * Truncation heuristics for the `format` module. A provider's finish reason (`length`, `max_tokens`)
 * is certain; the text heuristics are tuned for few false alarms: an unclosed code fence, unbalanced
 * brackets or strings in JSON or code, and a last prose sentence that stops mid-thought (ends on a
 * comma, a dangling function word or an open bracket). Lists, headings, tables, URLs, code, emoji and
 * short chat replies that simply lack a final period are not "truncated".
 *
 * @example
 *   detectTruncation('The three causes are inflation, supply shocks, and the', 'stop')
 *   // → { reason: 'the last sentence stops on "the"', position: 52, confidence: 0.85 }
 */

export interface Truncation {
  reason: string;
  /** Offset in the output where the cut is seen (usually its end). */
  position: number;
  confidence: number;
}

const LENGTH_REASONS = new Set(['length', 'max_tokens', 'max_output_tokens', 'model_length', 'token_limit']);

// Words an English sentence practically never ends on, even in idioms ("learn more", "log in",
// "if you want to", "where it came from" all end fine, so those words are not here).
const DANGLING = new Set(
  'a an the and or but nor of because although though whereas unless than my your his their our its whose into onto between among including very'.split(' '),
);

/** Returns why the output looks cut off, or null. */
export function detectTruncation(content: string, finishReason: string | null, codeLike: boolean): Truncation | null {
  const end = trimEndIndex(content);
  if (finishReason !== null && LENGTH_REASONS.has(finishReason.toLowerCase())) {
    return { reason: `the model stopped at its token limit (finish_reason "${finishReason}")`, position: end, confidence: 1 };
  }
  const fences = countFences(content);
  if (fences.count % 2 === 1) {
    return { reason: 'a ``` code block is opened and never closed', position: end, confidence: 0.9 };
  }
  if (codeLike) {
    const unbalanced = bracketBalance(content, 0, content.length);
    if (unbalanced !== null) return { reason: unbalanced, position: end, confidence: 0.9 };
  }
  return proseCutOff(content, end, fences.lastFenceEnd);
}

/** Start of the last whitespace-separated token of a line (scanning back, not a regex anchored at $). */
function lastTokenStart(line: string): number {
  let i = line.length;
  while (i > 0 && !/\s/.test(line[i - 1] as string)) i--;
  return i;
}

function trimEndIndex(s: string): number {
  let i = s.length;
  while (i > 0 && /\s/.test(s[i - 1] as string)) i--;
  return i;
}

function countFences(s: string): { count: number; lastFenceEnd: number } {
  let count = 0;
  let lastFenceEnd = -1;
  if (!s.includes('```')) return { count, lastFenceEnd };
  const re = /^[ \t]*```/gm;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    count++;
    lastFenceEnd = m.index + m[0].length;
  }
  return { count, lastFenceEnd };
}

/** Brackets and double-quoted strings balanced (as in JSON or most code)? Returns the problem or null. */
export function bracketBalance(s: string, from: number, to: number): string | null {
  const stack: number[] = [];
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91 || c === 40) stack.push(c);
    else if (c === 125 || c === 93 || c === 41) {
      const open = stack.pop();
      if (open === undefined) continue; // a stray closer is not a cut-off
    }
  }
  if (inString) return 'a string is opened and never closed';
  if (stack.length > 0) return `${stack.length} bracket${stack.length > 1 ? 's are' : ' is'} opened and never closed`;
  return null;
}

function proseCutOff(content: string, end: number, lastFenceEnd: number): Truncation | null {
  if (end === 0) return null;
  const lineStart = content.lastIndexOf('\n', end - 1) + 1;
  if (lineStart < lastFenceEnd) return null; // ends with a closed code block
  const line = content.slice(lineStart, end);
  const trimmed = line.trimStart();
  // Structural endings are fine: lists, headings, tables, quotes, links, html.
  if (/^(?:[-*+•]|\d{1,3}[.)]|#{1,6}\s|\||>|<|!?\[)/.test(trimmed)) return null;
  const last = content[end - 1] as string;
  if (/[.!?…:;"'”’)\]}*_`>~]/.test(last)) return null;
  const code = content.codePointAt(end - 1) ?? last.charCodeAt(0);
  if ((code >= 0xd800 && code <= 0xdfff) || code > 0x2000) return null; // emoji, symbols, CJK
  const lastWord = line.slice(lastTokenStart(line));
  if (/^(?:https?:\/\/|www\.)|\/\S*$|\.\w{2,4}$/.test(lastWord)) return null; // URL or path
  if (last === ',' || last === '(' || last === '-' || last === '–') {
    if (end < 60) return null;
    return { reason: `the last sentence stops on ${JSON.stringify(last)}`, position: end, confidence: 0.85 };
  }
  if (!/[A-Za-z]/.test(last)) return null;
  if (end < 120 || line.length < 25 || !DANGLING.has(lastWord.replace(/^[^A-Za-z]+/, '').toLowerCase())) return null;
  // A long enough prose text that otherwise uses sentence punctuation.
  if (/[.!?]\s/.test(content.slice(0, end))) {
    return { reason: `the last sentence stops on "${lastWord}"`, position: end, confidence: 0.85 };
  }
  return null;
}
