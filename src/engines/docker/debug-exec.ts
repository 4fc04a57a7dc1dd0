/**
 * `herd debug`'s program in an instance, over the Docker Engine API: `POST /containers/{id}/exec`,
 * then `POST /exec/{id}/start` with the connection hijacked, so stdin, stdout and stderr flow both
 * ways on one socket (https://docs.docker.com/engine/api/v1.41/#tag/Exec). Without a TTY the output
 * is framed (ExecFrameReader); with one it is the terminal's raw bytes. The only exec herd makes.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { DebugExec, DebugExecOptions } from '../engine.js';
import { ExecFrameReader } from './engine-json.js';

export async function startDebugExec(
  container: Docker.Container,
  options: DebugExecOptions,
): Promise<DebugExec> {
  const { tty, size } = options;
  const exec = await container.exec({
    Cmd: options.command,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: tty,
    ...(tty && size ? { ConsoleSize: [size.rows, size.columns] } : {}),
  });
  const socket = (await exec.start({ hijack: true, stdin: true, Tty: tty })) as unknown as Duplex;
  // A write after the program exited must not throw from an event handler.
  socket.on('error', () => undefined);
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const output = (async function* () {
    const frames = new ExecFrameReader();
    try {
      for await (const chunk of socket) {
        const bytes = chunk as Buffer;
        if (tty) yield { stream: 'stdout' as const, data: bytes };
        else yield* frames.push(bytes);
      }
    } catch {
      // A cut connection ends the output; the exit code says the rest.
    } finally {
      finish();
    }
  })();
  return {
    output,
    write: (data) => {
      if (!socket.destroyed && socket.writable) socket.write(data);
    },
    // A terminal has no end of input, only the EOF character (^D) at the start of a line.
    endInput: () => {
      if (socket.destroyed || !socket.writable) return;
      if (tty) socket.write(Buffer.from('\x04'));
      else socket.end();
    },
    resize: async (next) => {
      await exec.resize({ h: next.rows, w: next.columns });
    },
    /** Once the output was read to its end. */
    exitCode: async () => {
      await ended;
      // The engine marks the exec finished a moment after its output ends.
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const inspected = (await exec.inspect().catch(() => undefined)) as
          | { Running?: boolean; ExitCode?: number | null }
          | undefined;
        if (!inspected) return undefined;
        if (!inspected.Running && typeof inspected.ExitCode === 'number') return inspected.ExitCode;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return undefined;
    },
    close: () => {
      socket.destroy();
    },
  };
}
