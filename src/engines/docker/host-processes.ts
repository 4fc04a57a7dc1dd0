/**
 * Which file each process of an instance runs, read from the host's /proc: Podman's top gives the
 * host pid (HPID) of the instance's own processes, and herd runs as root on the engine's host. A
 * process entered from outside (`nsenter`) is not in the instance's cgroup, so top prints `?` for
 * its host pid; it is found by its pid namespace instead. A host pid is believed only when /proc
 * says it is that pid in the instance's pid namespace: a pid reused meanwhile, or an engine on
 * another host, gives no executable rather than another process's.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceProcess } from '../engine.js';
import type { TopProcess } from './engine-json.js';

/** Executables are hashed for evidence up to this size; a bigger one is named without a hash. */
const maxHashedBytes = 512 * 1024 * 1024;

export interface HostProcOptions {
  /** Also hash each executable (evidence). */
  hash?: boolean;
  /** `/proc` unless a test hands in a tree shaped like it. */
  procRoot?: string;
}

export async function resolveExecutables(
  sampled: readonly TopProcess[],
  options: HostProcOptions = {},
): Promise<InstanceProcess[]> {
  const proc = options.procRoot ?? '/proc';
  const bare = sampled.map(({ hostPid: _hostPid, ...process }): InstanceProcess => process);
  const init = sampled.find((one) => one.pid === 1 && one.hostPid !== undefined);
  if (!init?.hostPid) return bare;
  const anchor = await namespacesOf(proc, String(init.hostPid));
  const own = await readlink(join(proc, 'self', 'ns', 'pid')).catch(() => undefined);
  // The init must be itself (pid 1 in its namespace) and not in ours: else this is not the host.
  if (!anchor || anchor.pid === own || (await nsPidOf(proc, String(init.hostPid))) !== 1) return bare;
  const hostPids = new Map<number, number>();
  for (const one of sampled) if (one.hostPid !== undefined) hostPids.set(one.pid, one.hostPid);
  if (sampled.some((one) => one.hostPid === undefined)) {
    for (const [pid, hostPid] of await findInNamespace(proc, anchor.pid)) {
      if (!hostPids.has(pid)) hostPids.set(pid, hostPid);
    }
  }
  return Promise.all(
    bare.map(async (process) => {
      const hostPid = hostPids.get(process.pid);
      if (hostPid === undefined) return process;
      const seen = await executableOf(proc, { hostPid, pid: process.pid, anchor, hash: options.hash });
      return { ...process, ...seen };
    }),
  );
}

interface Namespaces {
  pid: string;
  mnt: string;
}

async function namespacesOf(proc: string, hostPid: string): Promise<Namespaces | undefined> {
  try {
    const [pid, mnt] = await Promise.all([
      readlink(join(proc, hostPid, 'ns', 'pid')),
      readlink(join(proc, hostPid, 'ns', 'mnt')),
    ]);
    return { pid, mnt };
  } catch {
    return undefined;
  }
}

/** The innermost pid of `NSpid:` in /proc/<pid>/status: the pid inside the process's namespace. */
async function nsPidOf(proc: string, hostPid: string): Promise<number | undefined> {
  const status = await readFile(join(proc, hostPid, 'status'), 'utf8').catch(() => undefined);
  const line = /^NSpid:\s*(.+)$/m.exec(status ?? '')?.[1];
  const innermost = line?.trim().split(/\s+/).at(-1);
  return innermost && /^\d+$/.test(innermost) ? Number(innermost) : undefined;
}

/** Every host process in the pid namespace `pidNamespace`, by its pid inside it. */
async function findInNamespace(proc: string, pidNamespace: string): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  const names = (await readdir(proc).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    names.map(async (name) => {
      const namespace = await readlink(join(proc, name, 'ns', 'pid')).catch(() => undefined);
      if (namespace !== pidNamespace) return;
      const inner = await nsPidOf(proc, name);
      if (inner !== undefined) found.set(inner, Number(name));
    }),
  );
  return found;
}

async function executableOf(
  proc: string,
  context: { hostPid: number; pid: number; anchor: Namespaces; hash: boolean | undefined },
): Promise<Pick<InstanceProcess, 'executable' | 'sha256' | 'outside'>> {
  const dir = String(context.hostPid);
  // Still that process, in that namespace: checked before and after reading what it runs.
  const same = async () => {
    const namespaces = await namespacesOf(proc, dir);
    return namespaces?.pid === context.anchor.pid && (await nsPidOf(proc, dir)) === context.pid
      ? namespaces
      : undefined;
  };
  const before = await same();
  if (!before) return {};
  const executable = await readlink(join(proc, dir, 'exe')).catch(() => undefined);
  const sha256 = executable && context.hash ? await hashOf(join(proc, dir, 'exe')) : undefined;
  if (!executable || !(await same())) return {};
  return {
    executable,
    ...(sha256 ? { sha256 } : {}),
    // In the instance's pid namespace but not its filesystem: the path names a file elsewhere.
    ...(before.mnt !== context.anchor.mnt ? { outside: true as const } : {}),
  };
}

async function hashOf(path: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      size += (chunk as Buffer).length;
      if (size > maxHashedBytes) return undefined;
      hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}
