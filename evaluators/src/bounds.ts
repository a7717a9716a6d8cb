/**
 * What a module examines of a trace: at most `MAX_EXAMINED_CHARS` characters (UTF-16 code units) of
 * each text field — the output, the input (the prompt text, or the latest chat messages), the context
 * documents together, the reference — unless the module declares other limits (`EvaluationModule
 * .examines`), and at most `MAX_FINDINGS` findings per module. The runner applies them (registry.ts)
 * and labels the result with what was not examined: `truncated_output`, `truncated_input`,
 * `truncated_context`, `truncated_reference`, `truncated_findings`. Together with linear-time
 * algorithms inside the modules, this bounds the cost of one trace whatever is in it.
 *
 * @example
 *   const { trace: seen, truncated } = boundTrace(trace, { output: 65_536 });
 *   // truncated: ['truncated_output'] when the output was longer
 */
import type { Trace } from '@metronis/schemas';

/** Characters of each text field a module examines unless it declares otherwise. */
export const MAX_EXAMINED_CHARS = 65_536;
/** Findings a module reports at most; the rest are counted in the score but not listed. */
export const MAX_FINDINGS = 100;

export type ExaminedField = 'output' | 'input' | 'context' | 'reference';
/** Characters examined per field; `'unread'` for a field the module never reads (not cut, not labelled). */
export type ExaminedChars = Partial<Record<ExaminedField, number | 'unread'>>;

const clip = (s: string, max: number) => (s.length > max ? s.slice(0, max) : s);

/** The trace as a module with these limits sees it, and the labels of the fields that were cut. */
export function boundTrace(trace: Trace, limits: ExaminedChars = {}): { trace: Trace; truncated: string[] } {
  const max = (field: ExaminedField) => {
    const limit = limits[field] ?? MAX_EXAMINED_CHARS;
    return limit === 'unread' ? Number.POSITIVE_INFINITY : limit;
  };
  const truncated: string[] = [];
  let bounded = trace;

  const output = max('output');
  if (trace.output.content.length > output) {
    bounded = { ...bounded, output: { ...trace.output, content: clip(trace.output.content, output) } };
    truncated.push('truncated_output');
  }

  const input = max('input');
  const { text, messages } = trace.input;
  if (text !== null && text.length > input) {
    bounded = { ...bounded, input: { ...trace.input, text: clip(text, input) } };
    truncated.push('truncated_input');
  } else if (text === null && messages.reduce((n, m) => n + m.content.length, 0) > input) {
    // The latest messages: the question the answer answers is the last one.
    const kept: typeof messages = [];
    let left = input;
    for (let i = messages.length - 1; i >= 0 && left > 0; i--) {
      const m = messages[i]!;
      kept.unshift(m.content.length > left ? { ...m, content: m.content.slice(m.content.length - left) } : m);
      left -= m.content.length;
    }
    bounded = { ...bounded, input: { ...trace.input, messages: kept } };
    truncated.push('truncated_input');
  }

  const context = max('context');
  if (trace.context.reduce((n, d) => n + d.content.length, 0) > context) {
    const kept: typeof trace.context = [];
    let left = context;
    for (const d of trace.context) {
      if (left <= 0) break;
      kept.push(d.content.length > left ? { ...d, content: clip(d.content, left) } : d);
      left -= d.content.length;
    }
    bounded = { ...bounded, context: kept };
    truncated.push('truncated_context');
  }

  const reference = max('reference');
  if (trace.reference !== null && trace.reference.length > reference) {
    bounded = { ...bounded, reference: clip(trace.reference, reference) };
    truncated.push('truncated_reference');
  }
  return { trace: bounded, truncated };
}
