/**
 * An instance's processes on a Docker node, as herd's process monitor needs them (the pid inside the
 * instance, the parent, the uid, the command, then the file each runs: docker/host-processes.ts).
 * Docker's top is `ps` on the node's host and gives host pids only, and only the container's own
 * cgroup: so each row's pid inside the instance is read from the host's /proc, and a process
 * entered into the instance's pid namespace from outside (nsenter), which no cgroup of the
 * container holds, is found by that namespace. Needs herd on the node's host; elsewhere the rows
 * cannot be placed in the instance and this says so rather than guess.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopProcess } from '../docker/engine-json.js';
import { EngineError } from '../engine.js';

/** What Docker's top is asked for: host pids, which /proc then places in the instance. */
export const dockerTopArgs = '-o pid';

interface HostProcess {
  hostPid: number;
  pid: number;
  hostPpid: number;
  uid: string;
  command: string;
}

/**
 * `topPids`: the host pids Docker's top listed (the container's cgroup); `initPid`: the instance's
 * first process as the engine's inspect says it.
 */
export async function namespaceProcesses(
  topPids: readonly number[],
  initPid: number,
  where: string,
  proc = '/proc',
): Promise<TopProcess[]> {
  const namespace = await readlink(join(proc, String(initPid), 'ns', 'pid')).catch(() => undefined);
  const init = await hostProcess(proc, initPid);
  if (!namespace || init?.pid !== 1) {
    throw new EngineError(
      'OTHER',
      `the processes of ${where}: its first process (host pid ${initPid}) is not visible in this host's /proc as pid 1 of a namespace, so herd does not run on its node`,
    );
  }
  const members = new Map<number, HostProcess>();
  const names = (await readdir(proc).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    names.map(async (name) => {
      if ((await readlink(join(proc, name, 'ns', 'pid')).catch(() => undefined)) !== namespace) return;
      const one = await hostProcess(proc, Number(name));
      if (one) members.set(one.hostPid, one);
    }),
  );
  // Top's rows are the container's cgroup: its first process must be among them, or the pid the
  // engine named is not that container's any more (it exited and the pid was reused).
  if (!topPids.includes(initPid)) {
    throw new EngineError(
      'NOT_FOUND',
      `the processes of ${where}: host pid ${initPid} is not among its top ${topPids}`,
    );
  }
  const inner = new Map([...members.values()].map((one) => [one.hostPid, one.pid]));
  return [...members.values()]
    .sort((a, b) => a.pid - b.pid)
    .map((one) => ({
      hostPid: one.hostPid,
      pid: one.pid,
      ppid: one.pid === 1 ? 0 : (inner.get(one.hostPpid) ?? 0),
      user: one.uid,
      command: one.command,
    }));
}

/** Docker's top answer: the PID column, as numbers. */
export function topPidsFrom(body: { Titles?: unknown; Processes?: unknown }, where: string): number[] {
  const titles = Array.isArray(body?.Titles) ? body.Titles.map(String) : [];
  const column = titles.indexOf('PID');
  if (column < 0 || !Array.isArray(body.Processes)) {
    throw new EngineError(
      'OTHER',
      `top of ${where} answered columns ${JSON.stringify(titles)}, expected a PID column`,
    );
  }
  return body.Processes.flatMap((row: unknown) => {
    const cell = Array.isArray(row) ? String(row[column]) : '';
    return /^\d{1,10}$/.test(cell) ? [Number(cell)] : [];
  });
}

async function hostProcess(proc: string, hostPid: number): Promise<HostProcess | undefined> {
  const [status, cmdline] = await Promise.all([
    readFile(join(proc, String(hostPid), 'status'), 'utf8').catch(() => undefined),
    readFile(join(proc, String(hostPid), 'cmdline')).catch(() => undefined),
  ]);
  if (!status) return undefined;
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  const pid = Number(field('NSpid').split(/\s+/).at(-1));
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    hostPid,
    pid,
    hostPpid: Number(field('PPid')),
    uid: field('Uid').split(/\s+/)[0] ?? '',
    command: (cmdline ?? Buffer.alloc(0)).toString('utf8').split('\0').filter(Boolean).join(' '),
  };
}
