/** What the src/home tests share: a process that really ran and was killed, and lock files. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { HomeLockHolder } from './home-lock.js';
import { type ProcessIdentity, parseProcStat } from './process-identity.js';

/** The identity of a `sleep` that was started and then killed with SIGKILL (and reaped). */
export async function deadProcess(): Promise<ProcessIdentity & { startTime: string }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const pid = child.pid!;
  const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return { pid, startTime: stat!.startTime, host: hostname() };
}

/** A lock as herd writes it, held by `identity`. */
export function holderOf(identity: ProcessIdentity, extra: Partial<HomeLockHolder> = {}): HomeLockHolder {
  return {
    ...identity,
    nonce: randomBytes(16).toString('hex'),
    command: 'herd serve',
    since: new Date().toISOString(),
    ...extra,
  };
}

export async function writeHolder(path: string, holder: HomeLockHolder): Promise<void> {
  await writeFile(path, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
}
