/**
 * The bounds of a trace beyond its types, in one place: the public trace's validation
 * (public-trace.ts) refuses what lies outside them with a 400 naming the path, and every store that
 * holds a trace checks the same bounds (the Postgres sinks, the ClickHouse facts rows), so what the
 * gateway answers 202 for is what every store can hold, and a record from a direct Kafka producer that
 * breaks them is refused by the sink with the same reason.
 *
 * `storableJsonIssues` is the other half: what JSON.parse can hand over but no store can give back as
 * sent. Lone UTF-16 surrogates (UTF-8 has no form for them: Postgres, ClickHouse and Avro would
 * replace or refuse them), a key `"__proto__"` (building an object by assignment sets the prototype
 * instead of the key, so it vanishes), and numbers that are not finite (`1e309` parses as Infinity,
 * which JSON.stringify writes as null). Each is refused, wherever it is, with its path.
 */

/** The first instant a trace may carry: 1970-01-01T00:00:00.000Z (the epoch; negative epoch milliseconds are refused). */
export const MIN_TIMESTAMP_MS = 0;
/**
 * 9999-12-31T23:59:59.999Z, the last instant the ISO form can write: past it `toISOString()` writes a
 * six-digit year that Postgres, ClickHouse and the trace view do not read back.
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;
/**
 * The largest token count and latency: the UInt32 columns of the facts store. Larger integers were
 * accepted and then failed later (past 2^53 - 2 the Avro encoder refuses a long: the gateway answered 500).
 */
export const MAX_UINT32 = 4_294_967_295;
/**
 * Short texts (application, environment, model provider and name, user and session ids, ...), in
 * bytes of UTF-8: Postgres indexes them, and one b-tree entry holds at most 2,704 bytes (the model
 * index holds provider and name together). 1,000 characters of CJK text are 3,000 bytes: such a trace
 * was answered 202 and then failed every Postgres sink batch it travelled in.
 */
export const MAX_SHORT_TEXT_BYTES = 1_000;

/** True for epoch milliseconds a trace (and every time stored beside it) may carry. */
export function withinTimestampBounds(ms: unknown): ms is number {
  return typeof ms === 'number' && ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS;
}

/** True for an integer the facts store's UInt32 columns hold. */
export function withinUint32(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_UINT32;
}

/** One problem found in a JSON value: the path inside it and what is wrong. */
export interface StorableIssue {
  path: (string | number)[];
  message: string;
}

/** No lone surrogate in `s` (String.prototype.isWellFormed: ES2024, in Node since 20; the project's TS lib is ES2023). */
export const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

const SURROGATE_MESSAGE = 'contains a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair), which cannot be stored';

/**
 * Everything in a parsed JSON value that would not read back as sent, at most `max` issues. Iterative
 * (a deep value cannot overflow it); visits each value once.
 *
 * @example
 *   storableJsonIssues(JSON.parse('{"a":["\\ud800"],"b":1e309}'))
 *   // [{ path: ['a', 0], message: '… lone UTF-16 surrogate …' }, { path: ['b'], message: '… finite …' }]
 */
export function storableJsonIssues(value: unknown, max = 20): StorableIssue[] {
  const issues: StorableIssue[] = [];
  // Paths as parent links, made into arrays only for an issue: copying them per value is quadratic in depth.
  const pathOf = (at: Step | null, last?: string): (string | number)[] => {
    const path: (string | number)[] = last === undefined ? [] : [last];
    for (let step = at; step !== null; step = step.parent) path.push(step.segment);
    return path.reverse();
  };
  const stack: [unknown, Step | null][] = [[value, null]];
  for (let next = stack.pop(); next !== undefined && issues.length < max; next = stack.pop()) {
    const [node, at] = next;
    if (typeof node === 'string') {
      if (!isWellFormed(node)) issues.push({ path: pathOf(at), message: SURROGATE_MESSAGE });
    } else if (typeof node === 'number') {
      if (!Number.isFinite(node)) issues.push({ path: pathOf(at), message: 'is not a finite number: it is out of the range of a double (about ±1.8e308)' });
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], { parent: at, segment: i }]);
    } else if (node !== null && typeof node === 'object') {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        if (key === '__proto__') issues.push({ path: pathOf(at, key), message: 'the key "__proto__" cannot be stored' });
        else if (!isWellFormed(key)) issues.push({ path: pathOf(at, key), message: `this key ${SURROGATE_MESSAGE}` });
        else stack.push([(node as Record<string, unknown>)[key], { parent: at, segment: key }]);
      }
    }
  }
  return issues;
}

interface Step {
  parent: Step | null;
  segment: string | number;
}
