/**
 * Reading a query string the console's way: every parameter known to the route, each given once
 * unless it is repeatable, each of the right type; anything else is collected as an issue naming the
 * parameter (`$.query.limit`), and `done()` throws one 400 `invalid_query` listing them all.
 *
 * @example
 *   const q = new QueryReader(c.req.url, ['limit', 'from']);
 *   const limit = q.integer('limit', 1, 200) ?? 50;
 *   q.done();
 */
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, withinTimestampBounds } from '@metronis/schemas';
import { ApiError, type Issue } from './http.js';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

export function invalidQuery(issues: Issue[]): never {
  throw new ApiError(400, 'invalid_query', `The query is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

/** `$.query.name`, or `$.query["odd name"]`. */
export const queryPath = (name: string) => `$.query${/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name.slice(0, 100))}]`}`;

export class QueryReader {
  readonly issues: Issue[] = [];
  private readonly values = new Map<string, string[]>();
  /** Parameters under a prefix the route takes (e.g. `metadata.`), by the name after the prefix. */
  readonly prefixed = new Map<string, string>();

  constructor(url: string, allowed: Iterable<string>, options: { prefix?: string; repeatable?: readonly string[] } = {}) {
    const known = new Set(allowed);
    this.repeatable = new Set(options.repeatable ?? []);
    let params: URLSearchParams;
    try {
      params = new URL(url).searchParams;
    } catch {
      invalidQuery([{ path: '$.query', message: 'the query string cannot be read' }]);
    }
    for (const [name, value] of params) {
      if (name.includes('\u0000') || value.includes('\u0000')) this.problem(name, 'must not contain U+0000');
      else if (options.prefix !== undefined && name.startsWith(options.prefix)) {
        const key = name.slice(options.prefix.length);
        if (this.prefixed.has(key)) this.problem(name, 'given more than once');
        else this.prefixed.set(key, value);
      } else if (!known.has(name)) this.problem(name, 'unknown parameter');
      else this.values.set(name, [...(this.values.get(name) ?? []), value]);
    }
  }

  private readonly repeatable: Set<string>;

  problem(name: string, message: string): void {
    this.issues.push({ path: queryPath(name), message });
  }

  /** Every value of a repeatable parameter. */
  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  one(name: string): string | undefined {
    const given = this.values.get(name);
    if (given === undefined) return undefined;
    if (given.length > 1 && !this.repeatable.has(name)) this.problem(name, 'given more than once; it takes one value');
    return given[0];
  }

  text(name: string, max: number): string | undefined {
    const value = this.one(name);
    if (value !== undefined && (value.length === 0 || value.length > max)) this.problem(name, `must be 1 to ${max} characters`);
    return value;
  }

  choice<T extends string>(name: string, options: readonly T[]): T | undefined {
    const value = this.one(name);
    if (value !== undefined && !(options as readonly string[]).includes(value)) this.problem(name, `must be one of ${options.join(', ')}`);
    return value as T | undefined;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.one(name);
    if (value === undefined) return undefined;
    const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) this.problem(name, `must be an integer in ${min}..${max}`);
    return n;
  }

  boolean(name: string): boolean | undefined {
    const value = this.choice(name, ['true', 'false'] as const);
    return value === undefined ? undefined : value === 'true';
  }

  /**
   * Epoch milliseconds of an ISO 8601 date-time with a zone, within the times a trace may carry
   * (so every store can hold the bound, and nothing stored lies outside what a query can name).
   */
  time(name: string): number | undefined {
    const value = this.one(name);
    if (value === undefined) return undefined;
    const ms = DATE_TIME.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms)) {
      this.problem(name, 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-20T00:00:00Z');
      return ms;
    }
    if (!withinTimestampBounds(ms)) {
      this.problem(name, `must lie between ${new Date(MIN_TIMESTAMP_MS).toISOString()} and ${new Date(MAX_TIMESTAMP_MS).toISOString()}`);
      return NaN;
    }
    return ms;
  }

  /** A [from, to) range: `from` before `to` when both are valid. */
  range(from: number | undefined, to: number | undefined): void {
    if (from !== undefined && to !== undefined && !Number.isNaN(from) && !Number.isNaN(to) && from >= to) this.problem('from', 'must be before to (the range is [from, to))');
  }

  /** Throws the 400 when anything was wrong. */
  done(): void {
    if (this.issues.length > 0) invalidQuery(this.issues);
  }
}
