/**
 * The client side of a debug session (what `herd debug` runs): `POST /api/v1/instances/:id/debug`
 * with `Connection: Upgrade`, over the control plane's socket or over TCP with a token, then the
 * framed stream both ways (src/debug/session-frames.ts). A refusal before the upgrade comes back as
 * ApiRefusal with the server's code, as the typed client's do.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameReader, frameTypes, type SessionEnd } from '../debug/index.js';
import type { TerminalSize } from '../engines/index.js';
import { ApiRefusal, type ApiTarget, describeTarget } from './api-client.js';
import type { ApiErrorBody } from './api-error.js';
import { ServerError } from './errors.js';
import { debugUpgradeProtocol } from './upgrade.js';

export interface DebugAttachRequest {
  instance: string;
  reason: string;
  ttlSeconds: number;
  /** Exec form; the server's default (/bin/sh) when absent. */
  command?: string[];
  tty: boolean;
  size?: TerminalSize;
}

/** The terminal the session is bridged to. */
export interface DebugTerminal {
  /** What is typed or piped; its end is the program's end of input. */
  input: AsyncIterable<Buffer>;
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  /** herd's own lines (what it is doing), not the program's. */
  notice(text: string): void;
  /** Calls back when the terminal is resized; returns how to stop. */
  onResize?(listener: (size: TerminalSize) => void): () => void;
}

/** What herd's debug bridge accepts in one client frame (src/server/debug-bridge.ts). */
const maxClientFrameBytes = 32 * 1024;
/** The largest frame the control plane sends: an engine chunk is far smaller. */
const maxServerFrameBytes = 4 * 1024 * 1024;

export function attachDebugSession(
  target: Exclude<ApiTarget, { kind: 'fetch' }>,
  request: DebugAttachRequest,
  terminal: DebugTerminal,
): Promise<SessionEnd> {
  const where = describeTarget(target);
  const query = new URLSearchParams({ reason: request.reason, ttl: String(request.ttlSeconds) });
  for (const word of request.command ?? []) query.append('command', word);
  query.set('tty', request.tty ? '1' : '0');
  if (request.size) {
    query.set('columns', String(request.size.columns));
    query.set('rows', String(request.size.rows));
  }
  const path = `/api/v1/instances/${encodeURIComponent(request.instance)}/debug?${query}`;
  const headers = { connection: 'Upgrade', upgrade: debugUpgradeProtocol };
  const outgoing =
    target.kind === 'socket'
      ? httpRequest({
          socketPath: target.socketPath,
          path,
          method: 'POST',
          headers: { ...headers, host: 'localhost' },
        })
      : requestTo(new URL(path, target.url), {
          ...headers,
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        });
  return new Promise<SessionEnd>((resolve, reject) => {
    outgoing.once('error', (error) =>
      reject(
        new ServerError('API_UNREACHABLE', `no control plane answers at ${where}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    outgoing.once('response', (response) => {
      void refusalOf(response, where).then(reject, reject);
    });
    outgoing.once('upgrade', (_response, socket, head) => {
      bridge(socket, head, terminal, where).then(resolve, reject);
    });
    outgoing.end();
  });
}

function requestTo(url: URL, headers: Record<string, string>) {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return send(url, { method: 'POST', headers });
}

async function refusalOf(response: IncomingMessage, where: string): Promise<never> {
  let text = '';
  for await (const chunk of response) text += (chunk as Buffer).toString('utf8');
  const body = (() => {
    try {
      return JSON.parse(text) as Partial<ApiErrorBody>;
    } catch {
      return undefined;
    }
  })();
  throw new ApiRefusal(
    response.statusCode ?? 0,
    body?.error ?? { code: 'UNKNOWN', message: `${where} answered ${response.statusCode} without upgrading` },
  );
}

function bridge(socket: Duplex, head: Buffer, terminal: DebugTerminal, where: string): Promise<SessionEnd> {
  const reader = new FrameReader({
    maxPayload: maxServerFrameBytes,
    accepted: [frameTypes.stdout, frameTypes.stderr, frameTypes.notice, frameTypes.end],
    from: where,
  });
  const stopResizing = terminal.onResize?.((size) => {
    if (!socket.destroyed) socket.write(encodeFrame(frameTypes.resize, JSON.stringify(size)));
  });
  return new Promise<SessionEnd>((resolve, reject) => {
    let end: SessionEnd | undefined;
    const take = (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          if (frame.type === frameTypes.stdout) terminal.stdout(frame.payload);
          else if (frame.type === frameTypes.stderr) terminal.stderr(frame.payload);
          else if (frame.type === frameTypes.notice) terminal.notice(frame.payload.toString('utf8'));
          else if (frame.type === frameTypes.end)
            end = JSON.parse(frame.payload.toString('utf8')) as SessionEnd;
        }
      } catch (error) {
        socket.destroy();
        reject(error);
      }
    };
    socket.on('data', take);
    socket.once('close', () => {
      stopResizing?.();
      if (end) resolve(end);
      else
        reject(
          new ServerError('API_UNREACHABLE', `${where} closed the debug session without saying how it ended`),
        );
    });
    socket.on('error', () => undefined);
    if (head.length > 0) take(head);
    void (async () => {
      try {
        for await (const chunk of terminal.input) {
          // The control plane takes frames of 64 KiB at most; a pipe may hand over more at once.
          for (let at = 0; at < chunk.length && !socket.destroyed; at += maxClientFrameBytes) {
            socket.write(encodeFrame(frameTypes.stdin, chunk.subarray(at, at + maxClientFrameBytes)));
          }
          if (socket.destroyed) return;
        }
        if (!socket.destroyed) socket.write(encodeFrame(frameTypes.stdinEnd));
      } catch {
        // A terminal that fails to read ends the input as a closed pipe does.
        if (!socket.destroyed) socket.write(encodeFrame(frameTypes.stdinEnd));
      }
    })();
  });
}
