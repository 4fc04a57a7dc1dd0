/**
 * A path of a running instance listed from the host, through `/proc/<pid>/root`: the instance's
 * own mount namespace, its tmpfs mounts included, read by `readdir` and `lstat` alone, so a 50 MB
 * file costs what an empty one does (the archive endpoint would stream its bytes). Only when the
 * process is really the instance's (its cgroup names the container id: a pid from another host or
 * pid namespace, or one reused since, fails that) and only on a mount the instance has at that
 * path, whose device the walk never leaves. herd runs as root beside the engine; the instance's
 * files are hostile, so nothing here follows a symlink or reads a file's bytes.
 *
 * The calls are synchronous, in batches with a turn of the event loop between them: /proc and a
 * tmpfs never wait on a disk, and a synchronous lstat costs a third of a promised one, which is
 * what this runs every second for every instance.
 */
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PathEntry } from '../engine.js';

export type HostListing =
  | { kind: 'listed'; entries: PathEntry[] }
  /** This host cannot see the instance's process: the engine runs elsewhere, or the pid moved on. */
  | { kind: 'not-this-host'; reason: string }
  /** The process is the instance's, but `path` is not a mount it has (or not the one found). */
  | { kind: 'not-a-mount'; reason: string };

export interface MountPoint {
  major: number;
  minor: number;
  fstype: string;
}

/**
 * One running instance as this host sees it. Its mounts do not change while it runs (it has no
 * capability to mount), so each path's device is read from its mountinfo once; that the pid is
 * still the instance's is checked at every listing.
 */
export class InstanceOnHost {
  private readonly devices = new Map<string, number | undefined>();

  constructor(private readonly target: { pid: number; id: string }) {}

  async list(
    path: string,
    options: { maxEntries?: number; signal?: AbortSignal } = {},
  ): Promise<HostListing> {
    const { pid, id } = this.target;
    const proc = `/proc/${pid}`;
    const cgroup = readOrUndefined(`${proc}/cgroup`);
    if (cgroup === undefined) return { kind: 'not-this-host', reason: `no readable ${proc} on this host` };
    if (!cgroup.includes(id)) {
      return { kind: 'not-this-host', reason: `process ${pid} is not in instance ${id}'s cgroup` };
    }
    if (!this.devices.has(path)) {
      const mount = mountAt(readOrUndefined(`${proc}/mountinfo`) ?? '', path);
      this.devices.set(path, mount && deviceNumber(mount));
    }
    const dev = this.devices.get(path);
    if (dev === undefined) return { kind: 'not-a-mount', reason: `instance ${id} has no mount at ${path}` };
    const entries = await walkMount(`${proc}/root`, path, {
      dev,
      ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!entries) {
      return { kind: 'not-a-mount', reason: `${path} seen from the host is not instance ${id}'s mount` };
    }
    return { kind: 'listed', entries };
  }
}

/** One listing, for a caller that keeps nothing between listings. */
export function listFromHost(
  target: { pid: number; id: string },
  path: string,
  options: { maxEntries?: number; signal?: AbortSignal } = {},
): Promise<HostListing> {
  return new InstanceOnHost(target).list(path, options);
}

/**
 * Pure: the mount at `path` in a `/proc/<pid>/mountinfo` (proc(5)), the last one when several are
 * stacked there, since that is the one a lookup sees. Mount points are as the process sees them.
 */
export function mountAt(mountinfo: string, path: string): MountPoint | undefined {
  let found: MountPoint | undefined;
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const device = /^(\d+):(\d+)$/.exec(fields[2] ?? '');
    if (!device || unescapeMountPath(fields[4] ?? '') !== path) continue;
    found = { major: Number(device[1]), minor: Number(device[2]), fstype: after.split(' ')[0] ?? '' };
  }
  return found;
}

/**
 * The entries at and under `hostRoot` + `path`, breadth first, staying on device `dev`: an entry
 * on another device is left out and not entered. A directory that becomes a symlink mid-walk can
 * point the walk at the host's files, and those are on another device. Undefined when `path`
 * itself is not a directory on `dev`. Entries that vanish mid-walk are left out.
 */
export async function walkMount(
  hostRoot: string,
  path: string,
  options: { dev: number; maxEntries?: number; signal?: AbortSignal },
): Promise<PathEntry[] | undefined> {
  const limit = options.maxEntries ?? Number.POSITIVE_INFINITY;
  const root = lstatOrUndefined(`${hostRoot}${path}`);
  if (!root?.isDirectory() || root.dev !== options.dev) return undefined;
  const entries: PathEntry[] = [entryOf(path, root)];
  const directories = [path];
  let sinceTurn = 0;
  for (let index = 0; index < directories.length && entries.length <= limit; index++) {
    const directory = directories[index] as string;
    const prefix = directory === '/' ? '' : directory;
    for (const name of readdirOrEmpty(`${hostRoot}${directory}`)) {
      if (++sinceTurn >= callsPerTurn) {
        sinceTurn = 0;
        await nextTurn();
        options.signal?.throwIfAborted();
      }
      const inner = `${prefix}/${name}`;
      const stat = lstatOrUndefined(`${hostRoot}${inner}`);
      if (!stat || stat.dev !== options.dev) continue;
      entries.push(entryOf(inner, stat));
      if (stat.isDirectory()) directories.push(inner);
      if (entries.length > limit) break;
    }
  }
  return entries;
}

/** Synchronous calls between two turns of the event loop: about a millisecond's worth. */
const callsPerTurn = 128;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    // ENOTDIR, ELOOP, EACCES: a parent changed under the walk; the next listing sees how.
    return undefined;
  }
}

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function entryOf(path: string, stat: Stats): PathEntry {
  const type = typeOf(stat);
  return {
    path,
    type,
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    size: type === 'file' ? stat.size : 0,
    mtimeMs: stat.mtimeMs,
    ino: stat.ino,
    ctimeMs: stat.ctimeMs,
  };
}

function typeOf(stat: Stats): PathEntry['type'] {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  return 'unknown';
}

/** A device number as `stat` reports it: glibc's `makedev`, which libuv applies to statx's fields. */
export function deviceNumber(mount: Pick<MountPoint, 'major' | 'minor'>): number {
  const { major, minor } = mount;
  const high = major - (major & 0xfff);
  return (minor & 0xff) + (major & 0xfff) * 0x100 + (minor - (minor & 0xff)) * 0x1000 + high * 2 ** 32;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(raw: string): string {
  return raw.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
