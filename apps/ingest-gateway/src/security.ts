/**
 * Security headers and CORS for every response of the gateway and the console.
 *
 * `securityHeaders` sets, before the handler runs (so error answers carry them too):
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`,
 * `Cross-Origin-Resource-Policy: same-origin` (unless CORS allows the origin), a strict
 * `Content-Security-Policy` whose `frame-ancestors 'none'` forbids framing, and
 * `Strict-Transport-Security` when the request came over TLS (an https URL, or
 * `X-Forwarded-Proto: https` from the proxy that terminated it). HSTS over plain HTTP would be
 * ignored by browsers and misleads, so it is left out there.
 *
 * `corsAllowList` answers cross-origin requests only for the configured origins (exact match, from
 * `METRONIS_CORS_ORIGINS`): preflights get 204 with the allowed methods and headers; other origins
 * get no CORS headers at all, so browsers refuse to hand them the answer. An empty list disables CORS.
 *
 * @example
 *   app.use('*', securityHeaders({ csp: API_CSP }));
 *   app.use('*', corsAllowList(['https://console.example.com']));
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/** For JSON APIs: nothing may load from an answer, nothing may frame it. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** For the console's pages: own scripts, styles and connections only (live updates over wss/ws to itself). */
export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export interface SecurityHeadersOptions {
  csp: string;
  /** HSTS max-age in seconds when served over TLS. Default one year. */
  hstsMaxAgeSeconds?: number;
}

export function securityHeaders(options: SecurityHeadersOptions): MiddlewareHandler {
  const hsts = `max-age=${options.hstsMaxAgeSeconds ?? 31_536_000}; includeSubDomains`;
  return async function setSecurityHeaders(c, next) {
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    c.header('Content-Security-Policy', options.csp);
    if (c.req.header('origin') === undefined) c.header('Cross-Origin-Resource-Policy', 'same-origin');
    if (c.req.url.startsWith('https:') || c.req.header('x-forwarded-proto')?.toLowerCase() === 'https') c.header('Strict-Transport-Security', hsts);
    await next();
  };
}

/** CORS for an allow-list of origins (`https://app.example.com`), or nothing when it is empty. */
export function corsAllowList(origins: readonly string[]): MiddlewareHandler {
  if (origins.length === 0) return async (_c, next) => next();
  const allowed = new Set(origins);
  return cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-API-Key'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'],
    maxAge: 600,
  });
}
