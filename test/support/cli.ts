/** Runs the real herd CLI in a child process, with its own HERD_HOME. */
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { herdCliArgs } from './transpiled-cli.js';

export const projectRoot = resolve(import.meta.dirname, '../..');

export interface CliResult {
  status: number | null;
  out: string;
  err: string;
}

export function runHerd(args: string[], options: { home: string; env?: Record<string, string> }): CliResult {
  const result = spawnSync(process.execPath, [...herdCliArgs(), ...args], {
    cwd: projectRoot,
    env: { ...process.env, HERD_HOME: options.home, ...options.env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

/**
 * As runHerd, without blocking this process: for tests that serve or load something meanwhile.
 * `input` is piped to its stdin, which then ends.
 */
export function runHerdAsync(
  args: string[],
  options: { home: string; env?: Record<string, string>; input?: string },
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...herdCliArgs(), ...args], {
      cwd: projectRoot,
      env: { ...process.env, HERD_HOME: options.home, ...options.env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    child.once('close', (status) => resolve({ status, out, err }));
  });
}
