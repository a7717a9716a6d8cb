/**
 * What keeps one slow or abusive client from starving the others on an instance, for every Metronis
 * HTTP server (the gateway's `startGateway` and the CLI's `listen`):
 *
 * - Node's own timeouts, per server: the request headers must arrive within `headersTimeoutMs` and the
 *   whole request (headers and body) within `requestTimeoutMs`, else Node answers 408 and closes the
 *   connection; an idle keep-alive connection is closed after `keepAliveTimeoutMs`. Node checks these
 *   every `connectionsCheckingInterval`, set here to a second at most (its default is 30 s).
 * - Header bounds: at most `maxHeaderBytes` of headers (Node answers 431 past it) and `maxHeadersCount`
 *   headers kept.
 * - A bound on the requests being answered at once (`maxInFlight`): past it a request is answered 503
 *   `overloaded` with `Retry-After` at once, without reading its body. `/healthz` and `/readyz` are
 *   exempt, so an overloaded instance still reports itself alive and its readiness truthfully.
 *   Refusals are logged at most once every 10 s, with their count.
 *
 * @example
 *   const guard = serverGuard(app.fetch, { maxInFlight: 500 }, logger);
 *   const server = serve({ fetch: guard.fetch, port, serverOptions: guard.serverOptions });
 *   guard.configure(server);
 */
import { randomUUID } from 'node:crypto';
import type { Server, ServerOptions } from 'node:http';

export interface ServerLimits {
  /** Most requests answered at once; the next ones get 503 `overloaded`. Default 1,000. */
  maxInFlight?: number;
  /** Time for a client to send the request headers. Default 10,000 ms. */
  headersTimeoutMs?: number;
  /** Time for a client to send the whole request, body included. Default 30,000 ms. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. Default 5,000 ms. */
  keepAliveTimeoutMs?: number;
  /** Most bytes of request headers. Default 16 KiB (Node's default). */
  maxHeaderBytes?: number;
  /** Most request headers kept. Default 100. */
  maxHeadersCount?: number;
  /** `Retry-After` seconds of an `overloaded` answer. Default 1. */
  retryAfterSeconds?: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<Required<ServerLimits>> = Object.freeze({
  maxInFlight: 1_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxHeadersCount: 100,
  retryAfterSeconds: 1,
});

type Fetch = (request: Request, env?: any) => Response | Promise<Response>;

const EXEMPT = new Set(['/healthz', '/readyz']);
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function resolveServerLimits(limits: ServerLimits = {}): Required<ServerLimits> {
  const resolved = { ...DEFAULT_SERVER_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`server limits: ${name} must be a positive integer, got ${String(value)}`);
  }
  if (resolved.headersTimeoutMs > resolved.requestTimeoutMs) {
    throw new RangeError(`server limits: headersTimeoutMs (${resolved.headersTimeoutMs}) must not exceed requestTimeoutMs (${resolved.requestTimeoutMs})`);
  }
  return resolved;
}

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const end = url.indexOf('?', start);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

export function serverGuard(fetch: Fetch, limits: ServerLimits | undefined, logger: { error(obj: object, msg: string): void }) {
  const resolved = resolveServerLimits(limits);
  const retryAfter = String(resolved.retryAfterSeconds);
  let inFlight = 0;
  let refused = 0;
  let lastLogAt = -Infinity;

  function overloaded(request: Request): Response {
    refused++;
    const now = Date.now();
    if (now - lastLogAt >= 10_000) {
      logger.error({ event: 'overloaded', refused, in_flight: inFlight, max_in_flight: resolved.maxInFlight }, 'too many requests in flight: answering 503 overloaded');
      lastLogAt = now;
      refused = 0;
    }
    const sent = request.headers.get('x-request-id');
    const requestId = sent !== null && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
    const message = `this instance is answering ${resolved.maxInFlight} requests already; retry after ${retryAfter} s`;
    return new Response(JSON.stringify({ error: { code: 'overloaded', message, request_id: requestId } }), {
      status: 503,
      headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': retryAfter, 'x-request-id': requestId },
    });
  }

  return {
    limits: resolved,
    /** Requests being answered now (exempt routes excluded). */
    inFlight: () => inFlight,
    fetch: async function guardedFetch(request: Request, env?: unknown): Promise<Response> {
      if (EXEMPT.has(pathOf(request.url))) return fetch(request, env);
      if (inFlight >= resolved.maxInFlight) return overloaded(request);
      inFlight++;
      try {
        return await fetch(request, env);
      } finally {
        inFlight--;
      }
    },
    /** Options for `http.createServer` (through @hono/node-server's `serverOptions`). */
    serverOptions: {
      headersTimeout: resolved.headersTimeoutMs,
      requestTimeout: resolved.requestTimeoutMs,
      keepAliveTimeout: resolved.keepAliveTimeoutMs,
      maxHeaderSize: resolved.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1_000, resolved.headersTimeoutMs),
    } satisfies ServerOptions,
    /** What Node only takes as properties of a created server. */
    configure(server: Server): void {
      server.maxHeadersCount = resolved.maxHeadersCount;
      server.keepAliveTimeout = resolved.keepAliveTimeoutMs;
      server.headersTimeout = resolved.headersTimeoutMs;
      server.requestTimeout = resolved.requestTimeoutMs;
    },
  };
}
