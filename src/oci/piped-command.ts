/**
 * A command herd pipes bytes through, in a child process of its own: xz and zstd decoding hostile
 * input (decompress.ts), igzip compressing layers (igzip.ts). Its stderr is kept, a little of it,
 * to say why it failed; a missing command names the Debian package that has it.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface PipedCommand {
  input: Writable;
  output: Readable;
  /** Once the command has exited: why it failed, or undefined when it succeeded. */
  failure(): Promise<string | undefined>;
  /** Stops it; safe to call at any point, and again. */
  stop(): void;
}

/** Enough of a command's stderr to say why it failed. */
const maxStderrBytes = 4096;

export function startPipedCommand(
  command: string,
  options: { args: string[]; debianPackage: string },
): PipedCommand {
  // LC_ALL=C: the command's reason goes into herd's error message, which is in English.
  const child = spawn(command, options.args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < maxStderrBytes) stderr += chunk.toString('utf8');
  });
  const result = new Promise<string | undefined>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === 'ENOENT'
          ? `the ${command} command is not installed (apt-get install ${options.debianPackage})`
          : `${command} could not be started: ${error.message}`,
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(undefined);
      const why = stderr.trim().replace(/\s+/g, ' ').slice(0, 500);
      resolve(
        `${command} ${signal ? `was stopped by ${signal}` : `exited with ${code}`}${why ? `: ${why}` : ''}`,
      );
    });
  });
  return {
    input: child.stdin,
    output: child.stdout,
    failure: () => result,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
