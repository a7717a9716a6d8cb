/**
 * JSON checks for the `format` module: pull the JSON text out of an output (a ```json fenced block
 * counts), parse it, and when parsing fails say where (offset, line, column). Schema validation uses
 * ajv with one compiled validator per distinct schema text, kept in a bounded cache, and every regex of
 * a schema runs with RE2 semantics (linear time).
 *
 * @example
 *   const doc = extractJson('Here you go:\n```json\n{"a":1}\n```');
 *   // doc = { text: '{"a":1}', offset: 21, fenced: true }
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { RE2JS } from 're2js';

export interface JsonText {
  /** The candidate JSON text. */
  text: string;
  /** Where `text` starts in the output. */
  offset: number;
  /** True when it came from a fenced code block. */
  fenced: boolean;
}

const FENCE = /```[ \t]*(json5?|javascript|js)?[ \t]*\r?\n([\s\S]*?)\r?\n?```/i;

/** The JSON text of an output: the first fenced block (a ```json one or an unlabelled one), else the trimmed output. */
export function extractJson(output: string): JsonText {
  const fence = FENCE.exec(output);
  if (fence !== null) {
    const body = fence[2] ?? '';
    return { text: body, offset: fence.index + fence[0].indexOf(body, 3), fenced: true };
  }
  const start = output.search(/\S/);
  return { text: output.trim(), offset: start < 0 ? 0 : start, fenced: false };
}

export type ParseResult = { ok: true; value: unknown } | { ok: false; position: number; reason: string };

/** Parses JSON; on failure finds the offending position (V8's message does not always carry one). */
export function parseJson(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const scanned = locateJsonError(text);
    const reason = scanned?.reason ?? (err as Error).message;
    return { ok: false, position: scanned?.position ?? text.length, reason };
  }
}

/** Line and column (1-based) of an offset. */
export function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

/**
 * A small JSON syntax scanner (RFC 8259) that only reports the first error: its position and a reason.
 * Returns null when the text is valid.
 */
export function locateJsonError(text: string): { position: number; reason: string } | null {
  let i = 0;
  const n = text.length;
  const fail = (reason: string) => ({ position: Math.min(i, n), reason });
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const value = (depth: number): { position: number; reason: string } | null => {
    if (depth > 512) return fail('nesting too deep');
    ws();
    if (i >= n) return fail('unexpected end of input (a value was expected)');
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return null;
      }
      for (;;) {
        ws();
        if (i >= n) return fail('unexpected end of input inside an object');
        if (text[i] !== '"') return fail(`expected a double-quoted property name, found ${describe(text[i])}`);
        const s = string();
        if (s) return s;
        ws();
        if (text[i] !== ':') return fail(`expected ':' after a property name, found ${describe(text[i])}`);
        i++;
        const v = value(depth + 1);
        if (v) return v;
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') return fail("trailing comma before '}'");
          continue;
        }
        if (text[i] === '}') {
          i++;
          return null;
        }
        return i >= n ? fail('unexpected end of input inside an object') : fail(`expected ',' or '}', found ${describe(text[i])}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return null;
      }
      for (;;) {
        const v = value(depth + 1);
        if (v) return v;
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') return fail("trailing comma before ']'");
          continue;
        }
        if (text[i] === ']') {
          i++;
          return null;
        }
        return i >= n ? fail('unexpected end of input inside an array') : fail(`expected ',' or ']', found ${describe(text[i])}`);
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
      m.lastIndex = i;
      const hit = m.exec(text);
      if (hit === null) return fail('malformed number');
      i += hit[0].length;
      return null;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return null;
      }
    }
    return fail(`unexpected ${describe(c)} where a value was expected`);
  };
  const string = (): { position: number; reason: string } | null => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return null;
      }
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail('bad \\u escape in a string');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return fail('bad escape in a string');
        continue;
      }
      if (c < 32) return fail('unescaped control character (e.g. a raw newline) in a string');
      i++;
    }
    return fail('unterminated string');
  };
  const err = value(0);
  if (err) return err;
  ws();
  if (i < n) return fail(`unexpected ${describe(text[i])} after the JSON value`);
  return null;
}

function describe(c: string | undefined): string {
  return c === undefined ? 'end of input' : JSON.stringify(c);
}

/** A compiled schema, or the reason it could not be compiled. */
export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; reason: string };

export interface SchemaCacheOptions {
  /** Most distinct schemas kept compiled; the least recently used is dropped beyond it. Default 256. */
  maxEntries?: number;
}

/** What a schema cache holds: its entries, and the ajv instances (generations) they were compiled by. */
export interface SchemaCacheStats {
  entries: number;
  generations: number;
}

export type SchemaCache = ((schemaText: string) => CompiledSchema) & { stats(): SchemaCacheStats };

export const DEFAULT_SCHEMA_CACHE_ENTRIES = 256;

/**
 * One ajv validator per distinct schema text, least-recently-used eviction, with every `pattern` and
 * `patternProperties` regex run by RE2 (linear time; see `re2Engine`).
 *
 * ajv keeps everything it ever compiled on its instance (its schema cache and the shared scope of
 * regexes and functions), so evicting our entry alone would free nothing. The cache therefore
 * retires its ajv instances: a new one every `maxEntries` compilations, and an entry compiled by an
 * older instance is compiled again when it is next used. Entries of an instance two generations old
 * have all been used again (recompiled) or evicted, so at most two instances, each holding at most
 * `maxEntries` schemas, are alive: memory stays bounded however many distinct schemas arrive.
 */
export function createSchemaCache(options: SchemaCacheOptions = {}): SchemaCache {
  const maxEntries = options.maxEntries ?? DEFAULT_SCHEMA_CACHE_ENTRIES;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`createSchemaCache: maxEntries must be a positive integer, got ${maxEntries}`);
  const ajvOptions = { strict: false, allErrors: true, validateFormats: false, logger: false, code: { regExp: re2Engine } } as const;
  let generation = 0;
  let compiledInGeneration = 0;
  let draft07: Ajv | undefined;
  let draft2020: Ajv2020 | undefined;
  const cache = new Map<string, { entry: CompiledSchema; generation: number }>();

  function compile(schemaText: string): CompiledSchema {
    if (compiledInGeneration >= maxEntries) {
      generation++;
      compiledInGeneration = 0;
      draft07 = undefined;
      draft2020 = undefined;
    }
    compiledInGeneration++;
    try {
      const schema: unknown = JSON.parse(schemaText);
      if (typeof schema !== 'object' || schema === null) throw new Error('a JSON Schema must be an object or a boolean');
      const uri = (schema as { $schema?: unknown }).$schema;
      const modern = typeof uri === 'string' && /2019-09|2020-12/.test(uri);
      const ajv = modern ? (draft2020 ??= new Ajv2020(ajvOptions)) : (draft07 ??= new Ajv(ajvOptions));
      // $id is dropped so ajv does not register it: two orgs' schemas with the same $id must not collide.
      return { ok: true, validate: ajv.compile({ ...(schema as object), $id: undefined }) };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  const compiled = function compiled(schemaText: string): CompiledSchema {
    const hit = cache.get(schemaText);
    cache.delete(schemaText); // re-inserted below: the Map's order is the recency order
    const fresh = hit !== undefined && (hit.generation === generation || !hit.entry.ok) ? hit : { entry: compile(schemaText), generation };
    cache.set(schemaText, fresh);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    return fresh.entry;
  } as SchemaCache;
  compiled.stats = () => ({ entries: cache.size, generations: new Set([...cache.values()].filter((v) => v.entry.ok).map((v) => v.generation)).size });
  return compiled;
}

/**
 * ajv's regex engine (`code.regExp`): RE2 semantics through re2js, a pure-JavaScript port of RE2 whose
 * matching time is linear in the input, so a schema's `pattern` cannot backtrack catastrophically.
 * A pattern RE2 cannot express (backreferences, lookahead) makes the schema uncompilable: the trace
 * gets `schema_unusable` naming the pattern, and its output is not checked against the schema.
 * RE2 differs from JavaScript in details (`\s` is ASCII whitespace); JSON Schema recommends the
 * portable ECMA-262 subset, which both read alike.
 */
export const re2Engine = Object.assign(
  function re2(pattern: string): { test(s: string): boolean; toString(): string } {
    let re: RE2JS;
    try {
      re = RE2JS.compile(RE2JS.translateRegExp(pattern), RE2JS.LOOKBEHINDS);
    } catch (error) {
      throw new Error(`pattern ${JSON.stringify(pattern)} is not supported (patterns run with RE2 semantics, which have no backreferences or lookahead): ${(error as Error).message}`);
    }
    return { test: (s: string) => re.test(s), toString: () => `re2:${pattern}` };
  },
  { code: 'new RE2' },
);

/** Human sentence for one ajv error, naming the instance path. */
export function describeSchemaError(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'the document root' : error.instancePath;
  return `${where} ${error.message ?? 'is invalid'}${error.keyword === 'additionalProperties' ? ` (${String((error.params as { additionalProperty?: string }).additionalProperty)})` : ''}`;
}
