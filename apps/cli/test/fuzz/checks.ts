/**
 * What every answer of the HTTP surface must satisfy, whatever was sent:
 * - never a 5xx (a 503 only where a test breaks a dependency on purpose, and then with Retry-After);
 * - an `X-Request-Id` header: the one sent when it was sane, otherwise a generated sane one;
 * - an error is the envelope `{ error: { code, message, request_id } }` with a stable-looking code
 *   and `request_id` equal to the header;
 * - nothing internal leaks: no stack frames, file paths, SQL or driver names.
 */

/** Things an answer must never contain. The generators (arbitraries.ts) never produce them. */
export const LEAK_PATTERNS: readonly RegExp[] = [
  /\n\s+at /,
  / {4}at /,
  /\bat (?:async )?[\w.<>]+ \(/,
  /\/work\//,
  /\/home\//,
  /\/root\//,
  /\/tmp\//,
  /node_modules/,
  /file:\/\//,
  /\.[cm]?[jt]s:\d+/,
  /syntax error/i,
  /relation "/i,
  /failed query/i,
  /\bselect\b.+\bfrom\b/i,
  /\binsert into\b/i,
  /\bsqlstate\b/i,
  /pglite/i,
  /postgres/i,
  /drizzle/i,
  /\bchdb\b/i,
  /clickhouse/i,
  /kafka/i,
  /\bavsc\b/i,
  /\bioredis\b/i,
  /StoreError|InvalidRecordError|TypeError|RangeError|ReferenceError|SyntaxError|URIError/,
  /Maximum call stack/i,
  /ECONN|EPIPE|ETIMEDOUT/,
];

export const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CODE = /^[a-z][a-z0-9_]*$/;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON. */
  json: unknown;
}

export interface Sent {
  method: string;
  /** The path with query, as sent. */
  target: string;
  requestId: string | undefined;
}

export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Throws, naming the request, when the answer breaks a rule. */
export function checkAnswer(sent: Sent, answer: Answer, options: { allow503?: boolean; allow501?: boolean } = {}): void {
  const where = `${sent.method} ${sent.target.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 500)}`;
  const fail = (why: string): never => {
    throw new Error(`${why}\n  ${where}`);
  };
  if (answer.status >= 500) {
    const allowed =
      (options.allow503 === true && answer.status === 503 && answer.headers.get('retry-after') !== null) ||
      // 501 only where the document promises it (the console UI that is not built yet).
      (options.allow501 === true && answer.status === 501);
    if (!allowed) fail('server error');
  }
  const id = answer.headers.get('x-request-id');
  if (id === null) fail('no X-Request-Id header');
  if (!SANE_REQUEST_ID.test(id!)) fail(`X-Request-Id ${JSON.stringify(id)} is not a sane id`);
  if (sent.requestId !== undefined && SANE_REQUEST_ID.test(sent.requestId) && id !== sent.requestId) fail(`X-Request-Id ${id} is not the one sent (${sent.requestId})`);
  if (answer.status >= 400) {
    const error = (answer.json as { error?: { code?: unknown; message?: unknown; request_id?: unknown } } | undefined)?.error;
    if (error === undefined || error === null || typeof error !== 'object') fail('an error answer without the { error: {...} } envelope');
    if (typeof error!.code !== 'string' || !CODE.test(error!.code)) fail(`error.code ${JSON.stringify(error!.code)} is not a stable code`);
    if (typeof error!.message !== 'string' || error!.message.length === 0) fail('error.message is missing');
    if (error!.request_id !== id) fail(`error.request_id ${JSON.stringify(error!.request_id)} differs from the X-Request-Id header ${id}`);
    const leak = LEAK_PATTERNS.find((p) => p.test(answer.text));
    if (leak !== undefined) fail(`the answer leaks internals (${leak})`);
  }
}
