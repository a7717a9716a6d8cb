/**
 * Serves a fetch handler on Node's HTTP server and closes it gracefully (in-flight requests finish).
 * The server has the instance protections of the gateway's server-limits.ts: header and request
 * timeouts, header bounds, and a bound on the requests in flight (503 `overloaded` past it).
 */
import { serve, type ServerType } from '@hono/node-server';
import { serverGuard, type ServerLimits } from '@metronis/ingest-gateway';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Timeouts, header bounds and the in-flight bound; the defaults of server-limits.ts when absent. */
  limits?: ServerLimits;
  /** Where refusals for overload are reported (at most once every 10 s). */
  logger?: { error(obj: object, msg: string): void };
  /** Handles HTTP upgrades (the console's live WebSocket); without it upgrades are refused by Node. */
  onUpgrade?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

const silent = { error: () => undefined };

export function listen(fetch: (request: Request, env?: any) => Response | Promise<Response>, options: ListenOptions): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const guard = serverGuard(fetch, options.limits, options.logger ?? silent);
    const onError = (error: Error) => reject(new Error(`Cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error }));
    server = serve({ fetch: guard.fetch, hostname: options.host, port: options.port, serverOptions: guard.serverOptions }, (info) => {
      server.off('error', onError);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
    guard.configure(server as Server);
    if (options.onUpgrade !== undefined) server.on('upgrade', options.onUpgrade);
    server.once('error', onError);
  });
}
