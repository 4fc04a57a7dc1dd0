/**
 * A debug session on an upgraded socket: the client's frames (stdin, its end, resizes) go to the
 * session, the session's output and notices come back as frames, and the last frame says how it
 * ended (src/debug/session-frames.ts). The client going away ends the session, and so does a
 * frame that breaks the framing: the instance is destroyed either way.
 */
import type { Duplex } from 'node:stream';
import type { DebugSession } from '../debug/index.js';
import { DebugError, encodeFrame, FrameReader, frameTypes } from '../debug/index.js';

/** What one client frame may carry: a terminal's paste, not a file upload. */
const maxClientFrameBytes = 64 * 1024;

export async function bridgeDebugSession(session: DebugSession, socket: Duplex, head: Buffer): Promise<void> {
  const reader = new FrameReader({
    maxPayload: maxClientFrameBytes,
    accepted: [frameTypes.stdin, frameTypes.stdinEnd, frameTypes.resize],
    from: 'the debug client',
  });
  const refuse = (error: unknown) => {
    const message = error instanceof DebugError ? error.message : String(error);
    if (!socket.destroyed) socket.write(encodeFrame(frameTypes.notice, `herd: ${message}\n`));
    session.disconnect();
  };
  const take = (chunk: Buffer) => {
    try {
      for (const frame of reader.push(chunk)) {
        switch (frame.type) {
          case frameTypes.stdin:
            session.write(frame.payload);
            break;
          case frameTypes.stdinEnd:
            session.endInput();
            break;
          case frameTypes.resize: {
            const size = terminalSize(frame.payload);
            if (size) session.resize(size);
            break;
          }
        }
      }
    } catch (error) {
      refuse(error);
    }
  };
  if (head.length > 0) take(head);
  socket.on('data', take);
  socket.once('close', () => session.disconnect());
  socket.on('error', () => session.disconnect());

  for await (const piece of session.output) {
    if (socket.destroyed) continue;
    const type =
      piece.kind === 'notice'
        ? frameTypes.notice
        : piece.kind === 'stderr'
          ? frameTypes.stderr
          : frameTypes.stdout;
    // Backpressure: a client that reads slowly slows the program's output down, never herd's memory.
    if (!socket.write(encodeFrame(type, piece.data))) await drained(socket);
  }
  const end = await session.ended;
  if (!socket.destroyed) socket.end(encodeFrame(frameTypes.end, JSON.stringify(end)));
}

function drained(socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

function terminalSize(payload: Buffer): { columns: number; rows: number } | undefined {
  try {
    const { columns, rows } = JSON.parse(payload.toString('utf8')) as { columns?: unknown; rows?: unknown };
    const fine = (value: unknown) =>
      Number.isInteger(value) && (value as number) > 0 && (value as number) <= 1000;
    return fine(columns) && fine(rows) ? { columns: columns as number, rows: rows as number } : undefined;
  } catch {
    return undefined;
  }
}
