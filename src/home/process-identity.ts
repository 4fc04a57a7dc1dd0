/**
 * Who holds a lock, told apart from a later process that got the same pid: the pid, the start time
 * the kernel gives it (field 22 of /proc/<pid>/stat, clock ticks after boot) and the host. A pid
 * that runs with another start time is a new process, so its lock is stale.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** Absent where /proc cannot be read; then the pid alone decides. */
  startTime?: string;
  host: string;
}

export function currentProcess(): ProcessIdentity {
  const startTime = procStat(process.pid)?.startTime;
  return { pid: process.pid, ...(startTime ? { startTime } : {}), host: hostname() };
}

/**
 * Whether the process is still running. A holder on another host (a HERD_HOME on a shared disk)
 * cannot be checked from here, so it counts as running: taking its lock could start a second
 * control plane.
 */
export function isRunning(identity: ProcessIdentity): boolean {
  if (identity.host !== hostname()) return true;
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    // EPERM: the pid runs as another user. Not herd's own process, unless its start time matches.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(identity.pid);
  if (!stat) return identity.startTime === undefined;
  // A zombie has exited and only waits to be reaped: it holds nothing.
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return identity.startTime === undefined || identity.startTime === stat.startTime;
}

/** /proc/<pid>/stat, or undefined when there is no such process (or no /proc). */
function procStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface ProcStat {
  state: string;
  startTime: string;
}

/**
 * Fields 3 (state) and 22 (starttime) of proc(5)'s stat line. The command name (field 2) is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function parseProcStat(line: string): ProcStat | undefined {
  const end = line.lastIndexOf(')');
  if (end < 0) return undefined;
  const fields = line.slice(end + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime || !/^\d+$/.test(startTime)) return undefined;
  return { state, startTime };
}
