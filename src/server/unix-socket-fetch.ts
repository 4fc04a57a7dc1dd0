/**
 * `fetch` over a Unix socket, for the typed client's local default (the control plane's
 * control-plane.sock). Node's own fetch cannot dial a socket path without undici's Agent, so this
 * is node:http underneath. Request bodies are small (a herd.yaml); response bodies stream, so
 * `herd logs --follow` reads lines as they come.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

export function unixSocketFetch(socketPath: string): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const send = (retried: boolean) =>
      new Promise<Response>((resolve, reject) => {
        const outgoing = httpRequest(
          {
            socketPath,
            method: request.method,
            path: `${url.pathname}${url.search}`,
            headers: { ...Object.fromEntries(request.headers), host: 'localhost' },
            signal: request.signal,
          },
          (incoming) => {
            const status = incoming.statusCode ?? 502;
            const empty = status === 204 || status === 304 || request.method === 'HEAD';
            if (empty) incoming.resume();
            const stream = empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>);
            resolve(new Response(stream, { status, headers: headersOf(incoming.headers) }));
          },
        );
        outgoing.once('error', (error: NodeJS.ErrnoException) => {
          // Node's global agent keeps connections alive. One the control plane closed as idle just
          // as this request went out on it never reached the server: send it once more on a new
          // connection, as Node's documentation of `request.reusedSocket` advises.
          if (outgoing.reusedSocket && !retried && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
            resolve(send(true));
            return;
          }
          reject(error);
        });
        outgoing.end(body);
      });
    return send(false);
  };
}

function headersOf(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      headers.append(name, one);
    }
  }
  return headers;
}
