/**
 * What the console's routes share: who is calling (`Principal`), the Hono environment, and the one
 * error shape. Every unhappy answer is `{ "error": { "code", "message", "issues"?, "request_id" } }`;
 * handlers throw an `ApiError` and `app.onError` writes the envelope.
 *
 * @example
 *   throw new ApiError(403, 'forbidden', "This API key lacks the 'admin' scope.");
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

export interface Principal {
  orgId: string;
  keyId: string;
  scopes: readonly string[];
}

export type ConsoleEnv = { Variables: { principal: Principal; requestId: string } };

/** One problem in a request body, located by its JSON path (`$.modules.quality.config.max_chars`). */
export interface Issue {
  path: string;
  message: string;
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 500 | 501 | 503;

export class ApiError extends HTTPException {
  override readonly name = 'ApiError';
  constructor(
    status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly options: { headers?: Record<string, string>; issues?: Issue[]; cause?: unknown } = {},
  ) {
    super(status, { message, cause: options.cause });
  }
}

export function errorBody(c: Context<ConsoleEnv>, code: string, message: string, issues?: Issue[]) {
  const requestId = c.get('requestId');
  return { error: issues === undefined ? { code, message, request_id: requestId } : { code, message, issues, request_id: requestId } };
}

/** 403 unless the caller's key has one of `scopes`. */
export function requireScope(c: Context<ConsoleEnv>, ...scopes: string[]): Principal {
  const principal = c.get('principal');
  if (!scopes.some((s) => principal.scopes.includes(s))) {
    const named = scopes.map((s) => `'${s}'`).join(' or ');
    throw new ApiError(403, 'forbidden', `This API key lacks the ${named} scope.`);
  }
  return principal;
}
