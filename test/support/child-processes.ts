/** Processes a test started, seen from outside: to show that none outlives what started it. */
import { execFileSync } from 'node:child_process';

/** The pids of `parent`'s children whose command name is `name` (pgrep -P -x). */
export function childPidsNamed(parent: number, name: string): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(parent), '-x', name], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Whether `pid` is a live process (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
