/**
 * The Node adapter: serves a web-standard app with @hono/node-server. It binds to 127.0.0.1
 * unless told otherwise: the store is served without authentication, so exposing it on other
 * interfaces must be a deliberate choice.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:41234`, with the port the system chose when asked for 0. */
  url: string;
  close(): Promise<void>;
}

export async function startServer(options: {
  app: FetchApp;
  port?: number;
  host?: string;
}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: (request) => options.app.fetch(request), port: options.port ?? 0, hostname: host },
      (info: AddressInfo) => {
        server.off('error', reject);
        const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        resolve({
          url: `http://${shownHost}:${info.port}`,
          close: () =>
            new Promise<void>((done, fail) => {
              server.close((error) => (error ? fail(error) : done()));
              // Idle keep-alive connections would hold close() open until they time out.
              if ('closeAllConnections' in server) server.closeAllConnections();
            }),
        });
      },
    );
    server.once('error', reject);
  });
}
