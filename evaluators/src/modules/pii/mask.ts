/**
 * PII masking for storage: replace each detected value with a placeholder (`[EMAIL_1]`,
 * `[PHONE_2]`, `[CREDIT_CARD_1]` ...). Placeholders are stable per trace: one `MaskState` numbers the
 * values, so the same value (by canonical key: an email in any case, a phone in any format) gets the
 * same placeholder in the prompt, the messages, the output, the context and the reference. The gateway
 * calls `maskTrace` before anything is written when the org's policy says `mask_pii_before_storage`.
 *
 * @example
 *   const { text, entities } = maskPii('Write to ada@lovelace.dev', { defaultRegion: 'GB' });
 *   // text = 'Write to [EMAIL_1]'; entities[0] = { kind: 'email', start: 9, end: 25, placeholder: '[EMAIL_1]', ... }
 *   const stored = maskTrace(trace, { defaultRegion: 'US' }); // stored.pii_masked === true
 */
import type { Trace } from '@metronis/schemas';
import { detectPii, type DetectOptions, type PiiEntity, type PiiKind } from './detect.js';

/** Numbers values across the fields of one trace. Create one per trace; never share across traces. */
export interface MaskState {
  placeholders: Map<string, string>;
  counters: Map<PiiKind, number>;
}

export function createMaskState(): MaskState {
  return { placeholders: new Map(), counters: new Map() };
}

export interface MaskOptions extends DetectOptions {
  /** Share one state across calls to keep placeholders stable; a fresh one is used when absent. */
  state?: MaskState;
}

export interface MaskedEntity extends PiiEntity {
  placeholder: string;
}

export interface MaskResult {
  text: string;
  /** What was replaced, with offsets into the *original* text. */
  entities: MaskedEntity[];
}

export function maskPii(text: string, options: MaskOptions = {}): MaskResult {
  const state = options.state ?? createMaskState();
  const entities = detectPii(text, options);
  if (entities.length === 0) return { text, entities: [] };
  const parts: string[] = [];
  const masked: MaskedEntity[] = [];
  let cursor = 0;
  for (const e of entities) {
    const id = `${e.kind}:${e.key}`;
    let placeholder = state.placeholders.get(id);
    if (placeholder === undefined) {
      const n = (state.counters.get(e.kind) ?? 0) + 1;
      state.counters.set(e.kind, n);
      placeholder = `[${e.kind.toUpperCase()}_${n}]`;
      state.placeholders.set(id, placeholder);
    }
    parts.push(text.slice(cursor, e.start), placeholder);
    cursor = e.end;
    masked.push({ ...e, placeholder });
  }
  parts.push(text.slice(cursor));
  return { text: parts.join(''), entities: masked };
}

/**
 * A copy of the trace with PII masked in the input (text and every message), the output, the context
 * documents and the reference, numbered consistently across them, and `pii_masked` set. Metadata,
 * tags and ids are left as they are: they are the caller's structured fields, not free text.
 */
export function maskTrace(trace: Trace, options: Omit<MaskOptions, 'state'> = {}): Trace {
  const state = createMaskState();
  const mask = (s: string) => maskPii(s, { ...options, state }).text;
  return {
    ...trace,
    input: {
      text: trace.input.text === null ? null : mask(trace.input.text),
      messages: trace.input.messages.map((m) => ({ ...m, content: mask(m.content) })),
    },
    output: { ...trace.output, content: mask(trace.output.content) },
    context: trace.context.map((d) => ({ ...d, content: mask(d.content) })),
    reference: trace.reference === null ? null : mask(trace.reference),
    pii_masked: true,
  };
}
