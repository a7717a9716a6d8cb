/**
 * The gateway's one error shape. Every unhappy answer is
 * `{ "error": { "code", "message", "issues"?, "request_id" } }` with a stable `code`, produced in one
 * place (`errorResponse`, called from `app.onError`). Handlers throw an `ApiError`; anything else
 * that escapes is a bug and becomes a 500 `internal_error` whose message says nothing about the
 * internals (no stack, SQL or path): the error itself goes to the log.
 *
 * @example
 *   throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every code a client can see, with the status it comes with. Stable: clients branch on these. */
export const ERROR_CODES = {
  invalid_json: 400,
  invalid_body: 400,
  incomplete_body: 400,
  missing_api_key: 401,
  malformed_api_key: 401,
  invalid_api_key: 401,
  expired_api_key: 401,
  revoked_api_key: 401,
  insufficient_scope: 403,
  not_found: 404,
  body_too_large: 413,
  too_many_items: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  log_unavailable: 503,
  auth_unavailable: 503,
  policy_unavailable: 503,
  not_ready: 503,
  overloaded: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem in a request body, located by its JSON path (`$.traces[3].input`). */
export interface Issue {
  path: string;
  message: string;
}

export interface ApiErrorOptions {
  issues?: Issue[];
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`, ...). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An error a client caused or can act on; `app.onError` turns it into the envelope. */
export class ApiError extends HTTPException {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;
  readonly issues: Issue[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(ERROR_CODES[code], { message, cause: options.cause });
    this.code = code;
    this.issues = options.issues;
    this.headers = options.headers;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; issues?: Issue[]; request_id: string };
}

/** The envelope for an error. */
export function errorBody(code: ErrorCode, message: string, requestId: string, issues?: Issue[]): ErrorBody {
  return { error: issues === undefined ? { code, message, request_id: requestId } : { code, message, issues, request_id: requestId } };
}

/**
 * Maps anything thrown by a handler to the envelope. Hono's own HTTPExceptions (thrown by its
 * helpers) keep their status with a generic code; everything else is a 500 with no details.
 */
export function errorResponse(err: unknown, c: Context, requestId: string): Response {
  if (err instanceof ApiError) {
    if (err.headers !== undefined) for (const name in err.headers) c.header(name, err.headers[name]);
    return c.json(errorBody(err.code, err.message, requestId, err.issues), err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody(err.status === 404 ? 'not_found' : 'invalid_body', err.message || 'bad request', requestId), err.status);
  }
  return c.json(errorBody('internal_error', 'internal error; the request id identifies it in the gateway log', requestId), 500);
}
