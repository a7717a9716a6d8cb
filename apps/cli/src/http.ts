/** Serves a fetch handler on Node's HTTP server and closes it gracefully (in-flight requests finish). */
import { serve, type ServerType } from '@hono/node-server';

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

export function listen(fetch: (request: Request, env?: any) => Response | Promise<Response>, options: { host: string; port: number }): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (error: Error) => reject(new Error(`Cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error }));
    server = serve({ fetch, hostname: options.host, port: options.port }, (info) => {
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
    server.once('error', onError);
  });
}
