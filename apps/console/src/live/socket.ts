/**
 * The live channel's WebSocket (`GET /live`, upgraded): authenticated by the console session's cookie
 * at the upgrade, for the session's organization only. Cross-site WebSocket hijacking is refused by
 * the Origin check (browsers always send Origin on a WebSocket handshake). The client sends
 * `{ "type": "subscribe", "filter": {...}, "since"?: <epoch ms> }` (the filter of the traces page;
 * `since`: the newest `at` it saw, to catch up after a reconnect) and receives `rows` messages (hub.ts).
 *
 * The socket is closed with 4401 when the session ends (signed out here or everywhere, at once on this
 * instance; expired or ended elsewhere, within `sessionCheckMs`), with 1013 when the client is too slow
 * (shed by the hub), and without a pong for `heartbeatMs`. A bad subscribe message is answered with an
 * `error` message naming the problem; the socket stays open.
 *
 * @example
 *   const live = createLiveSockets({ hub, sessions, logger });
 *   server.on('upgrade', (req, socket, head) => live.handleUpgrade(req, socket, head));
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { sessionTokenFromHeader, type ResolvedSession, type Sessions } from '../auth/session.js';
import type { LiveHub, Subscription } from './hub.js';
import { liveFilterSchema } from './rows.js';

export interface LiveSocketsOptions {
  hub: LiveHub;
  sessions: Sessions;
  logger?: { info(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Origins besides this server's own allowed to connect (the CORS allow-list). */
  allowedOrigins?: readonly string[];
  heartbeatMs?: number;
  sessionCheckMs?: number;
}

export interface LiveSockets {
  /** For the HTTP server's 'upgrade' event; answers anything but `/live` with 404. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open sockets now. */
  size(): number;
  close(): Promise<void>;
}

export const LIVE_PATH = '/live';
export const CLOSE_SESSION_ENDED = 4401;

function refuse(socket: Duplex, status: number, reason: string, message: string): void {
  const body = JSON.stringify({ error: { code: reason, message } });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function originAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser: it cannot carry someone else's cookie
  const host = request.headers.host;
  const proto = String(request.headers['x-forwarded-proto'] ?? '').toLowerCase() === 'https' || (request.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  return (host !== undefined && origin === `${proto}://${host}`) || allowed.includes(origin);
}

export function createLiveSockets(options: LiveSocketsOptions): LiveSockets {
  const { hub, sessions, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const sessionCheckMs = options.sessionCheckMs ?? 30_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024, perMessageDeflate: false });
  const open = new Map<WebSocket, { session: ResolvedSession; token: string; subscription: Subscription; alive: boolean }>();

  sessions.onEnded(({ tokenHash, userId }) => {
    for (const [ws, state] of open) {
      if (state.session.token_hash === tokenHash || state.session.user.id === userId) ws.close(CLOSE_SESSION_ENDED, 'session ended');
    }
  });

  const heartbeat = setInterval(() => {
    for (const [ws, state] of open) {
      if (!state.alive) {
        ws.terminate();
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  const recheck = setInterval(() => {
    for (const [ws, state] of open) {
      sessions.resolve(state.token).then(
        (session) => {
          if (session === null) ws.close(CLOSE_SESSION_ENDED, 'session ended');
        },
        () => undefined, // the store is unreachable: keep the socket; the next check decides
      );
    }
  }, sessionCheckMs);
  recheck.unref();

  function accept(ws: WebSocket, session: ResolvedSession, token: string): void {
    const subscription = hub.subscribe({
      orgId: session.org_id,
      filter: {},
      send: (text) => ws.send(text),
      bufferedAmount: () => ws.bufferedAmount,
      shed: (reason) => ws.close(1013, reason.slice(0, 120)),
    });
    const state = { session, token, subscription, alive: true };
    open.set(ws, state);
    ws.on('pong', () => (state.alive = true));
    ws.on('message', (data, isBinary) => {
      let message: unknown;
      try {
        message = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        message = undefined;
      }
      const parsed = typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'subscribe' ? message as { filter?: unknown; since?: unknown } : undefined;
      if (parsed === undefined) {
        ws.send(JSON.stringify({ type: 'error', message: 'expected {"type":"subscribe","filter":{...},"since"?:<epoch ms>}' }));
        return;
      }
      const filter = liveFilterSchema.safeParse(parsed.filter ?? {});
      const since = parsed.since;
      if (!filter.success || (since !== undefined && (typeof since !== 'number' || !Number.isFinite(since)))) {
        const issues = filter.success ? [{ path: '$.since', message: 'must be epoch milliseconds' }] : filter.error.issues.map((i) => ({ path: `$.filter${i.path.map((p) => `.${String(p)}`).join('')}`, message: i.message }));
        ws.send(JSON.stringify({ type: 'error', message: 'the subscription is invalid', issues }));
        return;
      }
      subscription.update(filter.data, since as number | undefined);
    });
    ws.on('close', () => {
      subscription.close();
      open.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    ws.send(JSON.stringify({ type: 'ready', organization: session.org_id }));
  }

  return {
    handleUpgrade(request, socket, head) {
      const path = (request.url ?? '').split('?')[0];
      if (path !== LIVE_PATH) return refuse(socket, 404, 'not_found', `No WebSocket at ${path}; the live channel is ${LIVE_PATH}.`);
      if (!originAllowed(request, options.allowedOrigins ?? [])) return refuse(socket, 403, 'cross_origin_refused', 'This WebSocket came from another origin.');
      const token = sessionTokenFromHeader(request.headers.cookie);
      if (token === undefined) return refuse(socket, 401, 'not_signed_in', 'Sign in to the console first: the live channel uses the session cookie.');
      sessions.resolve(token).then(
        (session) => {
          if (session === null) return refuse(socket, 401, 'session_expired', 'Your session has ended; sign in again.');
          wss.handleUpgrade(request, socket, head, (ws) => accept(ws, session, token));
        },
        (error: unknown) => {
          logger?.error({ err: error }, 'live channel: sessions cannot be checked');
          refuse(socket, 503, 'store_unavailable', 'Sessions cannot be checked right now; retry later.');
        },
      );
    },
    size: () => open.size,
    async close() {
      clearInterval(heartbeat);
      clearInterval(recheck);
      for (const ws of open.keys()) ws.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
