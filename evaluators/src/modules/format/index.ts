/**
 * `format`: is the output well-formed? Finding kinds:
 * - `empty_output` (high): nothing but whitespace.
 * - `truncated` (medium): the provider's finish reason says so, or a fence/bracket/string is left open,
 *   or the last sentence stops mid-thought.
 * - `invalid_json` (high): `expected_format` is `json` (or a `json_schema_json` is given) and the output
 *   (or its first fenced block) does not parse; the message says where.
 * - `schema_violation` (high): the JSON does not match `json_schema_json`; the message names the path.
 * - `schema_unusable` (low): the trace's `json_schema_json` itself cannot be compiled.
 * - `repetition` (medium): a phrase looped back to back.
 * - `refusal`: labelled; `low` (passing) unless `fail_on_refusal`, then `medium`.
 * A JSON document longer than `MAX_EXAMINED_CHARS` is parsed but not validated (`schema_not_checked`).
 *
 * @example
 *   const outcome = formatModule.evaluate(trace, formatModule.configSchema.parse({}));
 */
import type { Finding, Severity, Trace } from '@metronis/schemas';
import { z } from 'zod';
import { MAX_EXAMINED_CHARS } from '../../bounds.js';
import { defineModule, finding, gradeFindings, type ModuleOutcome, type Penalties } from '../../module.js';
import { createSchemaCache, DEFAULT_SCHEMA_CACHE_ENTRIES, describeSchemaError, extractJson, lineColumn, parseJson } from './json.js';
import { detectRefusal } from './refusal.js';
import { detectRepetition } from './repetition.js';
import { bracketBalance, detectTruncation } from './truncation.js';

export const formatConfigSchema = z.object({
  /** A refusal fails the trace (severity medium) instead of only being labelled. */
  fail_on_refusal: z.boolean().default(false),
  check_truncation: z.boolean().default(true),
  check_repetition: z.boolean().default(true),
  check_refusal: z.boolean().default(true),
  /** Copies of a multi-word phrase in a row that count as a loop. */
  repetition_min_copies: z.number().int().min(2).max(100).default(3),
  /** Most schema violations reported per trace. */
  max_schema_errors: z.number().int().min(1).max(50).default(5),
});
export type FormatConfig = z.output<typeof formatConfigSchema>;

const compiledSchema = createSchemaCache({ maxEntries: DEFAULT_SCHEMA_CACHE_ENTRIES });

/**
 * The whole output is read (a cut would make valid JSON look truncated); every check here is linear
 * in it. Schema validation is not (ajv's `uniqueItems` compares items pairwise), so a JSON document
 * longer than `MAX_EXAMINED_CHARS` is parsed but not validated: labelled `schema_not_checked`.
 */
const EXAMINES = { output: 1_048_576, input: 'unread', context: 'unread', reference: 'unread' } as const;

const PENALTY: Penalties = { none: 0, low: 0.05, medium: 0.35, high: 0.7, critical: 1 };

export const formatModule = defineModule({
  name: 'format',
  version: '1.0.0',
  description: 'Empty, truncated, invalid or schema-violating JSON, looping and refusing outputs.',
  configSchema: formatConfigSchema,
  examines: EXAMINES,
  evaluate: function evaluateFormat(trace: Trace, config: FormatConfig): ModuleOutcome {
    const found: Array<{ f: Finding; s: Severity }> = [];
    const add = (f: Finding, s: Severity) => found.push({ f, s });
    const content = trace.output.content;

    if (content.trim() === '') {
      add(finding('empty_output', 'the output is empty', 'output', 0, content.length, 1), 'high');
      return gradeFindings(found, PENALTY);
    }

    const wantsJson = trace.expected_format === 'json' || trace.json_schema_json !== null;
    let jsonBroken = false;
    let schemaNotChecked = false;
    if (wantsJson) {
      const doc = extractJson(content);
      const parsed = parseJson(doc.text);
      if (!parsed.ok) {
        jsonBroken = true;
        const at = doc.offset + parsed.position;
        const { line, column } = lineColumn(content, at);
        const where = doc.fenced ? 'in the ```json block, ' : '';
        add(finding('invalid_json', `JSON does not parse ${where}at line ${line} column ${column} (offset ${at}): ${parsed.reason}`, 'output', at, Math.min(at + 1, content.length), 1), 'high');
      } else if (trace.json_schema_json !== null && doc.text.length > MAX_EXAMINED_CHARS) {
        schemaNotChecked = true;
      } else if (trace.json_schema_json !== null) {
        const schema = compiledSchema(trace.json_schema_json);
        if (!schema.ok) {
          add(finding('schema_unusable', `json_schema_json cannot be compiled, so the output was not checked against it: ${schema.reason}`, 'output'), 'low');
        } else if (!schema.validate(parsed.value)) {
          const errors = schema.validate.errors ?? [];
          for (const e of errors.slice(0, config.max_schema_errors)) {
            add(finding('schema_violation', `schema violation at ${describeSchemaError(e)}`, 'output', doc.offset, doc.offset + doc.text.length, 1), 'high');
          }
          if (errors.length === 0) add(finding('schema_violation', 'the JSON does not match the schema', 'output', doc.offset, doc.offset + doc.text.length, 1), 'high');
        }
      }
    }

    if (config.check_truncation) {
      const looksCode = wantsJson || /^\s*[[{]/.test(content);
      let cut = detectTruncation(content, trace.output.finish_reason, looksCode && !jsonBroken);
      if (cut === null && jsonBroken) {
        // An unparseable JSON document whose brackets never close was cut off, not just malformed.
        const doc = extractJson(content);
        const unbalanced = bracketBalance(doc.text, 0, doc.text.length);
        if (unbalanced !== null) cut = { reason: unbalanced, position: content.length, confidence: 0.9 };
      }
      if (cut !== null) add(finding('truncated', `the output looks cut off: ${cut.reason}`, 'output', cut.position, cut.position, cut.confidence), 'medium');
    }

    if (config.check_repetition) {
      const loop = detectRepetition(content, { minCopies: config.repetition_min_copies });
      if (loop !== null) {
        add(finding('repetition', `the phrase "${clip(loop.unit)}" repeats ${loop.copies} times in a row`, 'output', loop.start, loop.end, 0.9), 'medium');
      }
    }

    if (config.check_refusal) {
      const refusal = detectRefusal(content);
      if (refusal !== null) {
        add(finding('refusal', `the model declined: "${clip(content.slice(refusal.start, refusal.end))}"`, 'output', refusal.start, refusal.end, 0.9), config.fail_on_refusal ? 'medium' : 'low');
      }
    }
    const outcome = gradeFindings(found, PENALTY);
    if (schemaNotChecked) outcome.labels.push('schema_not_checked');
    return outcome;
  },
});

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}


