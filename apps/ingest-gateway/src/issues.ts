/**
 * Turns zod issues into what a client can act on: the JSON path of each problem (`$.output.content`,
 * `$.traces[3].input`) and a plain message. Unknown fields are reported one per field; `org_id` says
 * why it is refused; a union that failed on its type says which types it takes ("expected a string
 * or an object, received number"); a union whose object form got further reports that form's
 * problems at their own paths.
 *
 * @example
 *   // body = { traces: [..., ..., ..., { input: 'q' }] }
 *   toIssues(publicTraceSchema.safeParse(body.traces[3]).error!.issues, body, ['traces', 3])
 *   // [{ path: '$.traces[3].output', message: 'required: a string or an object' }]
 */
import type { z } from 'zod';
import type { Issue } from './errors.js';

type Segment = PropertyKey;
type ZodIssue = z.core.$ZodIssue;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `$.a.b[3]["odd key"]` */
export function formatPath(path: readonly Segment[]): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** `string`, `number`, `null`, `array`, `object`, ... as a client would name them. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function valueAt(root: unknown, path: readonly Segment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

export const ORG_ID_MESSAGE = 'org_id is not accepted in the body: the organization comes from the API key';

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** True when a branch of a union failed on the type of the value itself, not on something inside. */
function failedAtRoot(branch: readonly ZodIssue[]): boolean {
  return branch.some((issue) => issue.path.length === 0 && issue.code === 'invalid_type');
}

function collect(issue: ZodIssue, base: readonly Segment[], root: unknown, out: Issue[]): void {
  const path = issue.path.length === 0 ? base : [...base, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) {
        const atTop = path.length === 0 || (path.length === 2 && path[0] === 'traces');
        out.push({ path: formatPath([...path, key]), message: key === 'org_id' && atTop ? ORG_ID_MESSAGE : 'unknown field' });
      }
      return;
    case 'invalid_union': {
      const deeper = issue.errors.find((branch) => branch.length > 0 && !failedAtRoot(branch));
      if (deeper !== undefined) {
        for (const inner of deeper) collect(inner, path, root, out);
        return;
      }
      const expected = issue.errors.flatMap((branch) =>
        branch.flatMap((inner) => (inner.path.length === 0 && inner.code === 'invalid_type' ? [article(inner.expected)] : [])),
      );
      const alternatives = expected.length > 0 ? expected.join(' or ') : 'one of the documented forms';
      const value = valueAt(root, path);
      out.push({
        path: formatPath(path),
        message: value === undefined ? `required: ${alternatives}` : `expected ${alternatives}, received ${jsonTypeOf(value)}`,
      });
      return;
    }
    case 'invalid_type': {
      const value = valueAt(root, path);
      out.push({
        path: formatPath(path),
        message: value === undefined ? `required: ${article(issue.expected)}` : `expected ${article(issue.expected)}, received ${jsonTypeOf(value)}`,
      });
      return;
    }
    default:
      out.push({ path: formatPath(path), message: issue.message.replace(/^Invalid input: /, '') });
  }
}

/**
 * The issues of one failed parse of the value at `base` inside `root` (the whole JSON body, where
 * values are looked up to say what was received), with paths prefixed by `base`.
 */
export function toIssues(issues: readonly ZodIssue[], root: unknown, base: readonly Segment[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) collect(issue, base, root, out);
  return out;
}
