/**
 * The process allowlist's verdict on one sample of an instance's processes: pure. A process is
 * judged by the file the kernel runs (never its command line, which it may rewrite): off the list,
 * a file deleted since it started, or a file from outside the instance (entered from the host) is a
 * finding. The engine's init passes as pid 1 only. A process whose executable the engine could not
 * read (gone between two reads, or an engine on another host) is not judged.
 */
import type { InstanceProcess } from '../engines/index.js';
import type { ProcessAllowlist } from './allowed-processes.js';

export interface ProcessFinding {
  pid: number;
  ppid: number;
  user: string;
  /** As the engine read it; never the command line, which stays in the evidence. */
  executable: string;
  reason: string;
}

export function judgeProcesses(
  processes: readonly InstanceProcess[],
  allowlist: ProcessAllowlist,
): ProcessFinding[] {
  return processes.flatMap((process): ProcessFinding[] => {
    const { executable } = process;
    if (executable === undefined) return [];
    const reason = reasonAgainst(process, executable, allowlist);
    return reason ? [{ pid: process.pid, ppid: process.ppid, user: process.user, executable, reason }] : [];
  });
}

function reasonAgainst(
  process: InstanceProcess,
  executable: string,
  allowlist: ProcessAllowlist,
): string | undefined {
  if (process.outside) return 'runs a file from outside the instance (entered from the host)';
  if (executable.endsWith(' (deleted)')) return 'runs a file deleted since it started';
  if (allowlist.executables.has(executable)) return undefined;
  if (process.pid === 1 && allowlist.inits.has(executable)) return undefined;
  if (allowlist.inits.has(executable)) return "runs the engine's init, but not as pid 1";
  return allowlist.source === 'spec' ? 'not in run.processes' : "not the image's entrypoint or init";
}

/** Whether processes could be judged at all: the engine read at least one executable. */
export function executablesKnown(processes: readonly InstanceProcess[]): boolean {
  return processes.some((process) => process.executable !== undefined);
}
