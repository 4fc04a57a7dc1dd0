/**
 * HTTP upgrades (`Connection: Upgrade`), for the one route that needs a connection both ways: a
 * debug session (routes/debug-api.ts). The Node adapter hands such a request to the same app as any
 * other, with the socket offered in `upgrade`: the route authenticates, authorizes and validates it
 * like every route, then takes the socket and writes its own `101`. A route that does not take it
 * answers as usual, and the answer is written on the socket as plain HTTP/1.1.
 *
 * Why an upgrade rather than a streamed request body: the session must outlive the server's request
 * timeout and body limit, which are right for API calls; it is the engine's own way (Docker's exec
 * start hijacks the connection); and no WebSocket library is needed on either side.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** The socket of a request that asked to upgrade; `take` once, and the route owns it. */
export interface UpgradeSocket {
  take(): { socket: Duplex; head: Buffer };
}

/** The header value herd's debug route speaks after `101`: a framed byte stream (src/debug/session-frames.ts). */
export const debugUpgradeProtocol = 'herd-debug';

export function switchingProtocols(socket: Duplex, headers: Record<string, string>): void {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${debugUpgradeProtocol}\r\n${lines.join('\r\n')}${lines.length > 0 ? '\r\n' : ''}\r\n`,
  );
}

/** Writes a web Response on a raw socket as HTTP/1.1 and closes it: a refused upgrade. */
export async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const headers = [...response.headers.entries()]
    .filter(([name]) => !['content-length', 'connection', 'transfer-encoding'].includes(name))
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n${headers}content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      ),
      body,
    ]),
  );
}
