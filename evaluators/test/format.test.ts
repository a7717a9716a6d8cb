import { makeTrace, type Trace } from '@metronis/schemas';
import { describe, expect, it } from 'vitest';
import { formatModule } from '../src/modules/format/index.js';
import { locateJsonError } from '../src/modules/format/json.js';

const defaults = formatModule.configSchema.parse({});

function run(output: string, extra: Partial<Trace> = {}, finish_reason: string | null = 'stop', config = defaults) {
  return formatModule.evaluate(makeTrace({ output: { content: output, finish_reason }, ...extra }), config);
}
const kinds = (o: { findings: { kind: string }[] }) => o.findings.map((f) => f.kind);

const PROSE =
  'Photosynthesis converts light energy into chemical energy. Plants capture sunlight with chlorophyll, ' +
  'split water molecules, and release oxygen as a by-product. The glucose they make feeds the plant and, ';

describe('format: empty_output', () => {
  it('fires on empty and whitespace-only output', () => {
    for (const s of ['', '   \n\t ']) {
      const o = run(s);
      expect(kinds(o)).toEqual(['empty_output']);
      expect(o.passed).toBe(false);
      expect(o.severity).toBe('high');
    }
  });
  it('does not fire on a one-word answer', () => {
    expect(run('Paris').findings).toEqual([]);
  });
});

describe('format: truncated', () => {
  it('fires on finish_reason length / max_tokens', () => {
    expect(kinds(run('The answer is complete.', {}, 'length'))).toEqual(['truncated']);
    expect(kinds(run('The answer is complete.', {}, 'max_tokens'))).toEqual(['truncated']);
  });
  it('fires on an unclosed code fence', () => {
    expect(kinds(run('Here is the function:\n```python\ndef add(a, b):\n    return a +'))).toEqual(['truncated']);
  });
  it('fires on a last sentence ending with a comma or a dangling function word', () => {
    expect(kinds(run(PROSE))).toEqual(['truncated']);
    expect(kinds(run(`${PROSE.slice(0, -2)} in the form of`))).toEqual(['truncated']);
  });
  it('fires on unbalanced JSON when JSON is expected, and reports it as invalid too', () => {
    const o = run('{"name": "Ada", "skills": ["math", "poetry"', { expected_format: 'json' });
    expect(kinds(o).sort()).toEqual(['invalid_json', 'truncated']);
  });
  it('does not fire on lists, headings, tables, URLs, code, emoji, abbreviations or short replies', () => {
    const fine = [
      'Steps to install:\n\n1. Download the installer.\n2. Run it as administrator\n3. Restart your computer',
      'Here are the options:\n- Option A\n- Option B\n- Option C',
      'The docs are here. For more, see https://example.org/docs/getting-started',
      'Run this:\n```bash\nnpm install\n```',
      'Hope this helps, and have a great day 😊',
      'We stock apples, pears, plums, etc.',
      '| Name | Age |\n| --- | --- |\n| Ada | 36 |',
      'Sure thing',
      'Let me know if you have any other questions about the migration plan we discussed above and I can help further',
      'Call the function (it returns a promise) and await it.',
      ':( that is unfortunate, but the deploy completed successfully.',
      `${PROSE.slice(0, -2)}. Pick the option that suits you and adapt the wording however you like`,
      `${PROSE.slice(0, -2)}. The pricing page has the details, so click below to learn more`,
      `${PROSE.slice(0, -2)}. You can skip the last step entirely if you want to`,
    ];
    for (const s of fine) expect(kinds(run(s)), s).toEqual([]);
  });
});

describe('format: invalid_json', () => {
  it('fires with line/column when JSON is expected and does not parse', () => {
    const out = '{\n  "name": "Ada",\n  "age": 36,\n}';
    const o = run(out, { expected_format: 'json' });
    expect(kinds(o)).toEqual(['invalid_json']);
    expect(o.findings[0]!.message).toMatch(/line 4 column 1/);
    expect(o.findings[0]!.message).toMatch(/trailing comma/);
    expect(o.findings[0]!.start).toBe(out.length - 1);
  });
  it('points into the fenced block when the JSON is fenced', () => {
    const out = 'Here you go:\n```json\n{"a": tru}\n```';
    const o = run(out, { expected_format: 'json' });
    expect(kinds(o)).toEqual(['invalid_json']);
    expect(out[o.findings[0]!.start!]).toBe('t');
    expect(o.findings[0]!.message).toMatch(/```json block/);
  });
  it('fires on prose where JSON was expected', () => {
    expect(kinds(run('Sure! The user is Ada, aged 36.', { expected_format: 'json' }))).toEqual(['invalid_json']);
  });
  it('accepts valid JSON, plain or fenced, and ignores JSON-looking text when JSON is not expected', () => {
    expect(run('{"a": [1, 2, {"b": null}]}', { expected_format: 'json' }).findings).toEqual([]);
    expect(run('Result:\n```json\n{"ok": true}\n```', { expected_format: 'json' }).findings).toEqual([]);
    expect(run('The object {"a": 1,} has a trailing comma, which JSON forbids.', { expected_format: 'text' }).findings).toEqual([]);
  });
  it('the JSON scanner finds the first error position', () => {
    expect(locateJsonError('{"a": 1}')).toBeNull();
    expect(locateJsonError('[1, 2,]')?.position).toBe(6);
    expect(locateJsonError('{"a": "x\ny"}')?.reason).toMatch(/control character/);
    expect(locateJsonError('{"a": 1} extra')?.reason).toMatch(/after the JSON value/);
  });
});

describe('format: schema_violation', () => {
  const schema = JSON.stringify({
    type: 'object',
    required: ['name', 'age'],
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string' } } },
    additionalProperties: false,
  });
  it('reports the instance path of each violation', () => {
    const o = run('{"name": "Ada", "age": -1, "tags": ["a", 2]}', { json_schema_json: schema });
    expect(kinds(o)).toEqual(['schema_violation', 'schema_violation']);
    const messages = o.findings.map((f) => f.message).join(' | ');
    expect(messages).toMatch(/\/age must be >= 0/);
    expect(messages).toMatch(/\/tags\/1 must be string/);
  });
  it('names a missing required property and an extra one', () => {
    const o = run('{"name": "Ada", "nick": "A"}', { json_schema_json: schema });
    const messages = o.findings.map((f) => f.message).join(' | ');
    expect(messages).toMatch(/must have required property 'age'/);
    expect(messages).toMatch(/additional properties \(nick\)/);
  });
  it('supports draft 2020-12 schemas and passes valid documents', () => {
    const s2020 = JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'number' }] });
    expect(run('[1, "x"]', { json_schema_json: s2020 }).findings).toEqual([]);
    expect(kinds(run('["x"]', { json_schema_json: s2020 }))).toEqual(['schema_violation']);
    expect(run('{"name": "Ada", "age": 36}', { json_schema_json: schema }).findings).toEqual([]);
  });
  it('reports an uncompilable schema as schema_unusable without failing the trace', () => {
    const o = run('{"a": 1}', { json_schema_json: '{"type": "object",' });
    expect(kinds(o)).toEqual(['schema_unusable']);
    expect(o.passed).toBe(true);
    const bad = run('{"a": 1}', { json_schema_json: '{"type": "no-such-type"}' });
    expect(kinds(bad)).toEqual(['schema_unusable']);
  });
});

describe('format: repetition', () => {
  it('fires on a looped sentence', () => {
    const o = run(`Sure, let me check that. ${'I apologize for the confusion, let me try again. '.repeat(5)}`);
    expect(kinds(o)).toEqual(['repetition']);
    expect(o.findings[0]!.message).toMatch(/i apologize for the confusion let me try again/);
    expect(o.findings[0]!.message).toMatch(/5 times/);
  });
  it('fires on a long single-token loop', () => {
    expect(kinds(run(`The answer is ${'the '.repeat(30)}`))).toContain('repetition');
  });
  it('does not fire on ordinary repetition, lists or code', () => {
    const fine = [
      'It was very, very, very good. No, no, no — that is not what I meant.',
      'Step 1: open the file. Step 2: edit the file. Step 3: save the file. Step 4: close the file.',
      '```js\nconst a = 0;\nconst a = 0;\nconst a = 0;\nconst a = 0;\nconst a = 0;\nconst a = 0;\n```',
      'The cat sat. The cat sat. Then it left to find its dinner in the other room.',
      '- Monday: closed\n- Tuesday: open 9 to 5\n- Wednesday: open 9 to 5\n- Thursday: open 9 to 6',
    ];
    for (const s of fine) expect(kinds(run(s)), s).not.toContain('repetition');
  });
});

describe('format: refusal', () => {
  it('labels a refusal and passes by default', () => {
    const o = run("I'm sorry, but I can't help with that request.");
    expect(kinds(o)).toEqual(['refusal']);
    expect(o.labels).toEqual(['refusal']);
    expect(o.passed).toBe(true);
  });
  it('fails on refusal when fail_on_refusal is set', () => {
    const o = run('As an AI language model, I cannot provide medical diagnoses.', {}, 'stop', formatModule.configSchema.parse({ fail_on_refusal: true }));
    expect(kinds(o)).toEqual(['refusal']);
    expect(o.passed).toBe(false);
    expect(o.severity).toBe('medium');
  });
  it('does not fire on sympathy, emphasis or a caveat followed by help', () => {
    const fine = [
      "I'm sorry to hear about your flight. Here is how to request a refund: open the booking and choose Cancel.",
      "I can't stress enough how important backups are.",
      "I can't browse the internet, but here's what I know about the 2022 release from my training data.",
      'The library cannot help with that edge case, so you will need a custom parser.',
    ];
    for (const s of fine) expect(kinds(run(s)), s).toEqual([]);
  });
});

describe('format: config', () => {
  it('parse({}) gives the defaults and bad config is rejected with the field named', () => {
    expect(defaults.fail_on_refusal).toBe(false);
    const bad = formatModule.configSchema.safeParse({ repetition_min_copies: 1 });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/repetition_min_copies/);
  });
  it('checks can be switched off', () => {
    const off = formatModule.configSchema.parse({ check_truncation: false, check_refusal: false });
    expect(run('I cannot help with that.', {}, 'length', off).findings).toEqual([]);
  });
});
