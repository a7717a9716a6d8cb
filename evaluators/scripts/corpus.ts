/**
 * Reads the evaluation corpus (`evaluators/corpus/*.jsonl`, format in `evaluators/corpus/README.md`):
 * each line one case, validated, its partial trace completed into a full Trace with `makeTrace`.
 * Malformed lines are collected with file, line and reason rather than thrown one at a time, so one
 * run shows every problem.
 *
 * @example
 *   const { cases, errors } = loadCorpus(corpusDir);
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeTrace, type Trace } from '@metronis/schemas';
import { z } from 'zod';
import { isModuleName, MODULES, type ModuleName } from '../src/registry.js';

export interface CorpusCase {
  file: string;
  line: number;
  id: string;
  module: ModuleName;
  kinds: string[];
  note: string;
  /** The module's configuration: its defaults, with the case's `config` applied. */
  config: unknown;
  trace: Trace;
}

export interface CorpusError {
  file: string;
  line: number;
  message: string;
}

const TRACE_FIELDS = Object.keys(makeTrace()) as (keyof Trace)[];

const caseSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, . _ -'),
  module: z.string().refine(isModuleName, { message: 'not a registered module' }),
  kinds: z.array(z.string().min(1)),
  note: z.string().min(1, 'say what the case is about'),
  config: z.record(z.string(), z.unknown()).optional(),
  trace: z.record(z.string(), z.unknown()).superRefine((t, ctx) => {
    for (const key of Object.keys(t)) if (!(TRACE_FIELDS as string[]).includes(key)) ctx.addIssue({ code: 'custom', message: `unknown trace field "${key}"`, path: [key] });
  }),
});

/** Shorthands: `input` and `output` as strings, `context` as an array of strings. */
function completeTrace(partial: Record<string, unknown>): Trace {
  const t: Record<string, unknown> = { ...partial };
  if (typeof t.input === 'string') t.input = { text: t.input, messages: [] };
  if (typeof t.output === 'string') t.output = { content: t.output, finish_reason: 'stop' };
  if (Array.isArray(t.context)) {
    t.context = t.context.map((d) => (typeof d === 'string' ? { id: null, content: d, source: null, score: null } : d));
  }
  const trace = makeTrace(t as Partial<Trace>);
  if (typeof trace.output?.content !== 'string') throw new Error('trace.output must be a string or { content, finish_reason }');
  if (trace.input?.text !== null && typeof trace.input?.text !== 'string') throw new Error('trace.input must be a string or { text, messages }');
  if (!Array.isArray(trace.input.messages)) throw new Error('trace.input.messages must be an array');
  return trace;
}

export function parseCorpusFile(file: string, text: string): { cases: CorpusCase[]; errors: CorpusError[] } {
  const cases: CorpusCase[] = [];
  const errors: CorpusError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const at = { file, line: i + 1 };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      errors.push({ ...at, message: `not JSON: ${(error as Error).message}` });
      continue;
    }
    const parsed = caseSchema.safeParse(value);
    if (!parsed.success) {
      errors.push({ ...at, message: parsed.error.issues.map((e) => `${e.path.join('.') || '(case)'}: ${e.message}`).join('; ') });
      continue;
    }
    const c = parsed.data;
    const module = MODULES[c.module as ModuleName];
    const config = module.configSchema.safeParse(c.config ?? {});
    if (!config.success) {
      errors.push({ ...at, message: `config: ${config.error.issues.map((e) => `${e.path.join('.')}: ${e.message}`).join('; ')}` });
      continue;
    }
    try {
      cases.push({ ...at, id: c.id, module: c.module as ModuleName, kinds: c.kinds, note: c.note, config: config.data, trace: completeTrace(c.trace) });
    } catch (error) {
      errors.push({ ...at, message: (error as Error).message });
    }
  }
  return { cases, errors };
}

/** Every `*.jsonl` file of `dir`; duplicate ids across files are errors too. */
export function loadCorpus(dir: string): { cases: CorpusCase[]; errors: CorpusError[]; files: string[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  const cases: CorpusCase[] = [];
  const errors: CorpusError[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    const result = parseCorpusFile(basename(f), readFileSync(join(dir, f), 'utf8'));
    for (const c of result.cases) {
      const first = seen.get(c.id);
      if (first) errors.push({ file: c.file, line: c.line, message: `duplicate id "${c.id}" (first at ${first})` });
      else seen.set(c.id, `${c.file}:${c.line}`);
    }
    cases.push(...result.cases);
    errors.push(...result.errors);
  }
  return { cases, errors, files };
}
