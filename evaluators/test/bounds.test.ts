/**
 * Bounded work per module: what the runner lets a module see (characters per field, findings per
 * module) with labels for what it left out, and the linear phrase matcher behind org lexicons.
 */
import { makeTrace, type Trace } from '@metronis/schemas';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundTrace, MAX_EXAMINED_CHARS, MAX_FINDINGS, parsePolicy, runModule, DEFAULT_POLICY } from '../src/index.js';
import { normalize } from '../src/modules/safety/normalize.js';
import { compilePhrases } from '../src/modules/safety/phrases.js';

const long = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/** A card number that passes the Luhn check and is not one of the published test numbers. */
function luhnCard(first15: string): string {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = Number(first15[14 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (first15 + String((10 - (sum % 10)) % 10)).replace(/(\d{4})(?=\d)/g, '$1 ');
}

describe('boundTrace', () => {
  it('cuts each field past its limit and names it; leaves short and unread fields alone', () => {
    const trace = makeTrace({
      input: { text: long('question ', 70_000), messages: [] },
      output: { content: long('answer ', 100_000), finish_reason: 'stop' },
      context: [{ id: null, content: long('doc one ', 40_000), source: null, score: null }, { id: null, content: long('doc two ', 40_000), source: null, score: null }],
      reference: 'short',
    });
    const { trace: seen, truncated } = boundTrace(trace);
    expect(truncated).toEqual(['truncated_output', 'truncated_input', 'truncated_context']);
    expect(seen.output.content).toBe(trace.output.content.slice(0, MAX_EXAMINED_CHARS));
    expect(seen.input.text).toHaveLength(MAX_EXAMINED_CHARS);
    expect(seen.context.map((d) => d.content.length)).toEqual([40_000, MAX_EXAMINED_CHARS - 40_000]);
    expect(seen.reference).toBe('short');
    expect(trace.output.content).toHaveLength(100_000); // the trace itself is never changed
    const unread = boundTrace(trace, { output: 1_048_576, input: 'unread', context: 'unread' });
    expect(unread.truncated).toEqual([]);
    expect(unread.trace).toBe(trace);
  });

  it('keeps the latest chat messages (the question being answered)', () => {
    const messages = [
      { role: 'user', content: long('old ', 60_000) },
      { role: 'assistant', content: long('reply ', 10_000) },
      { role: 'user', content: 'And the capital of France?' },
    ];
    const { trace: seen, truncated } = boundTrace(makeTrace({ input: { text: null, messages } }));
    expect(truncated).toEqual(['truncated_input']);
    expect(seen.input.messages.map((m) => m.content.length).reduce((a, b) => a + b)).toBe(MAX_EXAMINED_CHARS);
    expect(seen.input.messages.at(-1)!.content).toBe('And the capital of France?');
  });
});

describe('runModule bounds', () => {
  it('labels what a module did not examine, and lists at most MAX_FINDINGS findings, graded on all of them', () => {
    const emails = Array.from({ length: 150 }, (_, i) => `user${i}@mail${i}.org`).join(' and ');
    const trace: Trace = makeTrace({ input: { text: `Write to ${emails}.`, messages: [] }, output: { content: `Charge the card ${luhnCard('455673758143392')} now. ${long('More text. ', 80_000)}`, finish_reason: 'stop' } });
    const pii = runModule('pii', trace, DEFAULT_POLICY);
    expect(pii.findings).toHaveLength(MAX_FINDINGS);
    expect(pii.labels).toEqual(expect.arrayContaining(['truncated_output', 'truncated_findings']));
    // the card in the output is past the listed input findings, yet it grades the result
    expect(pii.severity).toBe('critical');
    const format = runModule('format', trace, DEFAULT_POLICY);
    expect(format.labels).not.toContain('truncated_output'); // format reads the whole output
  });

  it('parses a long JSON output whole, and says when its schema was not checked', () => {
    const doc = JSON.stringify(Array.from({ length: 8_000 }, (_, i) => ({ id: i, name: `item ${i}` })));
    expect(doc.length).toBeGreaterThan(MAX_EXAMINED_CHARS);
    const trace = makeTrace({ expected_format: 'json', json_schema_json: '{"type":"array","uniqueItems":true}', output: { content: doc, finish_reason: 'stop' } });
    const format = runModule('format', trace, DEFAULT_POLICY);
    expect(format.findings).toEqual([]);
    expect(format.labels).toEqual(['schema_not_checked']);
  });
});

/** The phrase semantics spelled out naively: at each word start the longest phrase, no overlaps. */
function naiveMatch(text: string, phrases: string[]): Array<{ id: number; from: number; to: number }> {
  const word = /[a-z0-9']/;
  const out: Array<{ id: number; from: number; to: number }> = [];
  for (let i = 0; i < text.length; i++) {
    if (i > 0 && word.test(text[i - 1]!)) continue;
    let best = -1;
    phrases.forEach((p, id) => {
      if (p === '' || !text.startsWith(p, i)) return;
      const after = text[i + p.length];
      if (after !== undefined && /[a-z0-9]/.test(after)) return;
      if (best < 0 || p.length > phrases[best]!.length) best = id;
    });
    if (best >= 0) {
      out.push({ id: best, from: i, to: i + phrases[best]!.length });
      i += phrases[best]!.length - 1;
    }
  }
  return out;
}

describe('compilePhrases', () => {
  it('finds what the naive definition finds (property)', () => {
    const token = fc.constantFrom('a', 'b', 'ab', "a'b", 'ba', '1', '.', '!');
    const phrase = fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join(' '));
    fc.assert(
      fc.property(fc.uniqueArray(phrase, { maxLength: 8 }), fc.array(fc.oneof(token, fc.constant(' ')), { maxLength: 40 }), (phrases, parts) => {
        const text = parts.join('').replace(/ {2,}/g, ' ');
        const got = compilePhrases(phrases).match(text);
        const want = naiveMatch(text, phrases);
        // equal phrases may have different ids; compare the spans and the phrase text
        expect(got.map((m) => [m.from, m.to, phrases[m.id]])).toEqual(want.map((m) => [m.from, m.to, phrases[m.id]]));
      }),
      { numRuns: 300 },
    );
  });

  it('lets a single space match a run of spaces, and reports offsets in the text given', () => {
    const text = normalize('Files for a 3D   printed receiver, please.').text;
    expect(compilePhrases([normalize('3D printed receiver').text]).match(text)).toEqual([{ id: 0, from: 12, to: 33 }]);
  });

  it('finds the one phrase of a 10,000-phrase lexicon in a long repetitive output, and the allow-list wins', () => {
    const phrases = Array.from({ length: 2_000 }, (_, i) => `kill the ${i.toString(36)} process now`);
    const policy = parsePolicy({ modules: { safety: { config: { extra_terms: { violence: phrases, hate: phrases, sexual: phrases, self_harm: phrases, weapons_illegal: phrases }, allow: ['kill the zz process now'] } } } });
    const content = `${long('kill the process kill the ', 60_000)} then kill the 1a process now and kill the zz process now.`;
    const safety = runModule('safety', makeTrace({ input: { text: 'hi', messages: [] }, output: { content, finish_reason: 'stop' } }), policy);
    const spans = safety.findings.map((f) => content.slice(f.start!, f.end!));
    expect(new Set(spans)).toEqual(new Set(['kill the 1a process now']));
    expect(safety.findings.map((f) => f.kind).sort()).toEqual(['hate', 'self_harm', 'sexual', 'violence', 'weapons_illegal']);
  });
});
