/**
 * Serves a gateway app over HTTP with @hono/node-server. Resolves once the port is listening (port 0
 * picks a free one: read it from `url`), rejects when it cannot listen. `close()` stops accepting
 * connections, closes idle keep-alive ones and resolves when the in-flight requests are answered.
 * The server has the instance protections of server-limits.ts: header and request timeouts, header
 * bounds, and a bound on the requests in flight (`serverLimits`).
 *
 * @example
 *   const server = await startGateway({ app, port: 8080, host: '0.0.0.0', logger });
 *   // ... later
 *   await server.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { GatewayEnv, GatewayLogger } from './app.js';
import { serverGuard, type ServerLimits } from './server-limits.js';

export interface StartGatewayOptions {
  app: Hono<GatewayEnv>;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  logger: GatewayLogger;
  /** Timeouts, header bounds and the in-flight bound. Defaults in server-limits.ts. */
  serverLimits?: ServerLimits;
}

export interface RunningGateway {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

export function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { app, port, logger } = options;
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const guard = serverGuard(app.fetch, options.serverLimits, logger);
    const server = serve({ fetch: guard.fetch, port, hostname: host, serverOptions: guard.serverOptions }) as Server;
    guard.configure(server);
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(new Error(`the ingest gateway cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      logger.info({ url }, 'ingest gateway listening');
      resolve({
        url,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err === undefined ? done() : fail(err)));
            server.closeIdleConnections();
          }),
      });
    };
    server.once('error', onError);
    server.once('listening', onListening);
  });
}
