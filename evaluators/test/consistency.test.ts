import { makeTrace, type Trace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { consistencyModule } from '../src/modules/consistency/index.js';
import { referenceSimilarity } from '../src/modules/consistency/reference.js';

function run(fields: Partial<Omit<Trace, 'output'>> & { output: string }, config: Record<string, unknown> = {}) {
  const { output, ...rest } = fields;
  return consistencyModule.evaluate(makeTrace({ ...rest, output: { content: output, finish_reason: 'stop' } }), consistencyModule.configSchema.parse(config));
}
const kinds = (fields: Parameters<typeof run>[0], config: Record<string, unknown> = {}) => run(fields, config).findings.map((f) => f.kind);
const ctx = (...docs: string[]) => docs.map((content) => ({ id: null, content, source: null, score: null }));
const q = (text: string) => ({ text, messages: [] });

describe('consistency: contradiction', () => {
  it('flags a statement and its later negation, at the offsets of the negation', () => {
    const output = 'The v2 endpoint supports pagination. Pass the cursor from the previous page. The v2 endpoint does not support pagination.';
    const r = run({ output });
    expect(r.findings.map((f) => f.kind)).toEqual(['contradiction']);
    const f = r.findings[0]!;
    expect(output.slice(f.start!, f.end!)).toBe('The v2 endpoint does not support pagination.');
    expect(r.severity).toBe('medium');
    expect(r.passed).toBe(false);
  });

  it('flags conflicting figures for the same quantity', () => {
    expect(kinds({ output: 'Revenue was $5M in the quarter, driven by new contracts. Costs stayed flat. Revenue was $7M in the quarter.' })).toEqual(['contradiction']);
  });

  it('flags a yes that concludes no', () => {
    expect(kinds({ output: 'Yes, you can share the volume between both pods. However, the volume is ReadWriteOnce. So, no, the second pod cannot mount it.' })).toEqual(['contradiction']);
  });

  it('does not flag different quantities, labels, periods or rounding', () => {
    expect(kinds({ output: 'Revenue in 2022 was $5M. Revenue in 2023 was $7M.' })).toEqual([]);
    expect(kinds({ output: 'Step 1 takes 5 minutes. Step 2 takes 10 minutes.' })).toEqual([]);
    expect(kinds({ output: 'The basic plan costs $10 per month. The pro plan costs $25 per month.' })).toEqual([]);
    expect(kinds({ output: 'The population is about 2.1 million. The population is 2.16 million.' })).toEqual([]);
  });

  it('does not flag a myth followed by the correction, or a contrast', () => {
    expect(kinds({ output: 'Many people believe the Great Wall is visible from space. The Great Wall is not visible from space with the naked eye.' })).toEqual([]);
    expect(kinds({ output: 'This is not a bug. This is a feature.' })).toEqual([]);
    expect(kinds({ output: 'Yes. No other configuration is needed, and no restart is required.' })).toEqual([]);
  });
});

describe('consistency: reference_mismatch', () => {
  it('passes an answer that contains a short reference', () => {
    expect(kinds({ reference: 'Paris', output: 'The capital of France is Paris.' })).toEqual([]);
    expect(referenceSimilarity('The capital of France is Paris.', 'Paris')).toBeGreaterThan(0.5);
  });

  it('flags an unrelated answer under the threshold, and honours the threshold', () => {
    const fields = { reference: 'Delete the lock file and run npm install again.', output: 'Bananas are a good source of potassium and fibre.' };
    expect(kinds(fields)).toEqual(['reference_mismatch']);
    expect(kinds(fields, { reference_min_similarity: 0 })).toEqual([]);
  });

  it('flags a number of the reference replaced by another', () => {
    const fields = { reference: 'The Eiffel Tower is 330 metres tall.', output: 'The Eiffel Tower is 300 metres tall.' };
    expect(kinds(fields)).toEqual(['reference_mismatch']);
    expect(kinds(fields, { check_reference_numbers: false })).toEqual([]);
    expect(kinds({ reference: 'The Eiffel Tower is 330 metres tall.', output: 'It is 330 metres (1,083 ft) tall.' })).toEqual([]);
  });

  it('flags the opposite yes/no', () => {
    expect(kinds({ reference: 'No', output: 'Yes, the free tier includes SSO.' })).toEqual(['reference_mismatch']);
    expect(kinds({ reference: 'No', output: 'No, SSO is only on the Enterprise plan.' })).toEqual([]);
  });

  it('does nothing without a reference', () => {
    expect(kinds({ reference: null, output: 'Bananas are yellow.' })).toEqual([]);
  });
});

describe('consistency: language_mismatch', () => {
  it('flags an answer in another language than the question', () => {
    expect(kinds({ input: q('¿Cómo puedo cambiar mi contraseña en la aplicación?'), output: 'You can change your password in the settings of the app.' })).toEqual(['language_mismatch']);
  });

  it('reads the last user message of a chat, not the system prompt', () => {
    const input = { text: null, messages: [
      { role: 'system', content: 'You are a helpful assistant for the billing team. Answer briefly.' },
      { role: 'user', content: 'Wie kann ich meine Rechnung herunterladen und wo finde ich sie?' },
    ] };
    expect(kinds({ input, output: 'Sie finden die Rechnung unter Konto und dann Rechnungen, dort können Sie sie herunterladen.' })).toEqual([]);
    expect(kinds({ input, output: 'You can download the invoice from the Billing page of your account.' })).toEqual(['language_mismatch']);
  });

  it('does not flag a requested translation, or short answers', () => {
    expect(kinds({ input: q('Translate to French: where is the train station?'), output: 'Où est la gare ? Elle est dans le centre de la ville.' })).toEqual([]);
    expect(kinds({ input: q('Answer in English please: ¿qué es una API?'), output: 'An API is the interface that one program offers to another.' })).toEqual([]);
    expect(kinds({ input: q('¿Cuál es la capital de Francia?'), output: 'Paris.' })).toEqual([]);
  });
});

describe('consistency: ungrounded', () => {
  const context = ctx('Pricing: the Pro plan costs $29 per month and includes 10 seats. The Team plan costs $99 per month. Support is by email.');

  it('flags a sentence with a figure the context lacks, at the sentence offsets', () => {
    const output = 'The Pro plan includes 10 seats. The Pro plan costs $49 per month.';
    const r = run({ input: q('How much is the Pro plan?'), context, output });
    expect(r.findings.map((f) => f.kind)).toEqual(['ungrounded']);
    expect(output.slice(r.findings[0]!.start!, r.findings[0]!.end!)).toBe('The Pro plan costs $49 per month.');
  });

  it('flags a sentence naming something the context does not mention', () => {
    expect(kinds({ input: q('Which support channels exist?'), context, output: 'Support is by email. You can also call the Dublin hotline through Zendesk Talk.' })).toEqual(['ungrounded']);
  });

  it('does not flag supported claims, numbers from the question, advice or list counts', () => {
    expect(kinds({ input: q('Is the Pro plan $29?'), context, output: 'Yes, the Pro plan is $29 per month with 10 seats.' })).toEqual([]);
    expect(kinds({ input: q('What if I need 25 seats?'), context, output: 'For 25 seats, the Team plan at $99 per month is the better fit. Let me know if you want help upgrading.' })).toEqual([]);
    expect(kinds({ input: q('Options?'), context, output: 'There are 2 options:\n1. Pro at $29 per month.\n2. Team at $99 per month.' })).toEqual([]);
  });

  it('is off without context or when disabled', () => {
    expect(kinds({ context: [], output: 'The Pro plan costs $49 per month.' })).toEqual([]);
    expect(kinds({ context, output: 'The Pro plan costs $49 per month.' }, { check_grounding: false })).toEqual([]);
  });
});

describe('consistency config', () => {
  it('gives defaults from {} and rejects unknown keys with their name', () => {
    expect(consistencyModule.configSchema.parse({}).reference_min_similarity).toBe(0.2);
    const bad = consistencyModule.configSchema.safeParse({ reference_min_similarty: 0.5 });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('reference_min_similarty');
  });
});
