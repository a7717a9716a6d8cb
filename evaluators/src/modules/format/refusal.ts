/**
 * Refusal detection for the `format` module: the model declines the request ("I'm sorry, but I can't
 * help with that."). Only the opening of the output is read, and a long answer that goes on to help
 * after a short caveat ("I can't browse the web, but here is ...") is not a refusal. Whether a refusal
 * fails the trace is the org's choice (`fail_on_refusal`).
 *
 * @example
 *   detectRefusal("I'm sorry, but I can't assist with that request.") // → { start: 0, end: 37 }
 */

const OPENING = 300;

const REFUSAL = new RegExp(
  [
    // I can't / cannot / won't / am unable to + help-verb
    String.raw`\bI\s*(?:'m|’m|am)?\s*(?:really\s+|truly\s+)?(?:can(?:'|’)?t|cannot|can\s+not|won(?:'|’)t|will\s+not|(?:am\s+|'m\s+|’m\s+)?(?:unable|not\s+able)\s+to)\s+(?:help|assist|provide|comply|fulfil+|do\s+that|support|create|generate|write|produce|share|engage|answer|continue|give|offer|participate)\b`,
    String.raw`\bI\s*(?:must|have\s+to|need\s+to)\s+(?:respectfully\s+)?(?:decline|refuse)\b`,
    String.raw`\bI(?:'m|’m|\s+am)\s+not\s+(?:able|allowed|permitted|comfortable)\s+(?:to\s+)?(?:help|assist|provide|comply|share|do|create|write|generate|with)`,
    String.raw`\bas\s+an\s+AI(?:\s+(?:language\s+)?model|\s+assistant)?(?:\s+(?:developed|created|trained)\s+by\s+\w+)?,\s+I\s+(?:can(?:'|’)?t|cannot|am\s+not\s+able\s+to|am\s+unable\s+to|do\s+not|don(?:'|’)t)\s+[a-z]+`,
    String.raw`\b(?:this|that|your)\s+request\s+(?:violates|goes\s+against|is\s+against)\s+(?:my|our|the)\s+(?:guidelines|policies|policy|usage\s+policies|content\s+policy)`,
  ].join('|'),
  'i',
);

// A pivot to actual help after the caveat.
const PIVOT = /\b(?:but|however|instead|that\s+said)\b[^.!?\n]{0,80}\b(?:here(?:'s|’s| is| are)|I\s+can|you\s+can|let\s+me|I(?:'d|’d)\s+be\s+happy)/i;

export function detectRefusal(content: string): { start: number; end: number } | null {
  const head = content.length > OPENING ? content.slice(0, OPENING) : content;
  const m = REFUSAL.exec(head);
  if (m === null) return null;
  const after = content.slice(m.index, m.index + 400);
  if (PIVOT.test(after)) return null;
  // A long answer with structure after the opening is help with a caveat, not a refusal.
  // ([^\S\n]: whitespace within the line; `\s*` there went over every later newline from each one: quadratic.)
  if (content.length > 900 && /```|\n[^\S\n]*(?:\d+[.)]|[-*])\s+\S/.test(content.slice(m.index + m[0].length))) return null;
  return { start: m.index, end: m.index + m[0].length };
}
