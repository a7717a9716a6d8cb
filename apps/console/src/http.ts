/**
 * What the console's routes share: who is calling (`Principal`), the Hono environment, and the one
 * error shape. Every unhappy answer is `{ "error": { "code", "message", "issues"?, "request_id" } }`;
 * handlers throw an `ApiError` and `app.onError` writes the envelope.
 *
 * @example
 *   throw new ApiError(403, 'forbidden', "This API key lacks the 'admin' scope.");
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import type { Tenant } from './tenant.js';

export interface Principal {
  orgId: string;
  /** the API key's id, or for a person signed in to the console their user id (what audit entries name) */
  keyId: string;
  scopes: readonly string[];
  /** set for a person signed in to the console */
  userId?: string;
  role?: 'viewer' | 'member' | 'admin';
}

/** `incoming`: the Node request, on @hono/node-server (absent with `app.request`). */
export type ConsoleEnv = { Bindings: { incoming?: IncomingMessage }; Variables: { principal: Principal; requestId: string; tenant: Tenant } };

/** One problem in a request body, located by its JSON path (`$.modules.quality.config.max_chars`). */
export interface Issue {
  path: string;
  message: string;
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 501 | 503;

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

/** 403 unless the caller (an API key's scopes, or a person's role) has one of `scopes`. */
export function requireScope(c: Context<ConsoleEnv>, ...scopes: string[]): Principal {
  const principal = c.get('principal');
  if (!scopes.some((s) => principal.scopes.includes(s))) {
    const named = scopes.map((s) => `'${s}'`).join(' or ');
    const message = principal.role === undefined ? `This API key lacks the ${named} scope.` : `Your role in this organization (${principal.role}) does not allow this: it needs the ${named} scope${principal.role === 'admin' ? '' : ' (ask an admin)'}.`;
    throw new ApiError(403, 'insufficient_scope', message, { headers: { 'WWW-Authenticate': `Bearer realm="metronis", error="insufficient_scope", scope="${scopes.join(' ')}"` } });
  }
  return principal;
}

export function assertJsonContentType(contentType: string | undefined): void {
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  if (media === 'application/json') return;
  throw new ApiError(
    415,
    'unsupported_media_type',
    `Content-Type must be application/json${contentType === undefined ? ' (none was sent)' : `, not ${JSON.stringify(contentType.slice(0, 100))}`}.`,
  );
}

export function parseJsonText(text: string): unknown {
  if (text.trim() === '') throw new ApiError(400, 'invalid_json', 'Malformed JSON: the body is empty.');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `Malformed JSON: ${(error as Error).message}.`);
  }
}

/** A body limit for a JSON route: 413 `body_too_large` over `maxBytes`. */
export function jsonBodyLimit(maxBytes: number, what = 'The body') {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'body_too_large', `${what} is larger than the limit of ${maxBytes} bytes.`);
    },
  });
}

/** `$.a.b[0]` from a zod issue path. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`)).join('');
}

/**
 * The JSON body of a request validated by a zod schema: 415 when it is not declared JSON, 400
 * `invalid_json` when it does not parse, 400 `invalid_body` naming the path of each problem.
 */
export async function readJson<S extends z.ZodType>(c: Context<ConsoleEnv>, schema: S): Promise<z.output<S>> {
  assertJsonContentType(c.req.header('content-type'));
  const body = parseJsonText(await c.req.text());
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues: Issue[] = parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
  throw new ApiError(400, 'invalid_body', `The body is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}
