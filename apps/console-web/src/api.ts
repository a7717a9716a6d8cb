/**
 * The console's HTTP API from the browser: same-origin requests with the session cookie, the CSRF
 * token on every change, and the API's error envelope as an `ApiError` (status, code, message, and the
 * JSON path of each problem in `issues`).
 */
export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request finds the session ended (the app goes to the sign-in page). */
export function whenSignedOut(listener: () => void): void {
  onSignedOut = listener;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check that Metronis is running, then try again.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(response.status, 'bad_response', `The server answered ${response.status} with something that is not JSON.`);
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; issues?: Issue[] } } | null)?.error;
    const code = error?.code ?? 'error';
    if (response.status === 401 && (code === 'session_expired' || code === 'not_signed_in') && path !== '/auth/session') onSignedOut?.();
    const retry = response.headers.get('retry-after');
    throw new ApiError(response.status, code, error?.message ?? `The server answered ${response.status}.`, error?.issues ?? [], retry === null ? null : Number(retry));
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);
