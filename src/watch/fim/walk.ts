/**
 * The walk: every entry under a root, in `comparePaths` order, each with its lstat. Symlinks are
 * never followed. Mount points are recorded but not entered unless `crossMounts`. Only the
 * directories on the current path are held.
 *
 * The walk is synchronous on purpose, down to being a plain generator: on cached metadata a sync
 * lstat costs a few microseconds against tens for a promise round trip through the thread pool (3 s
 * against 0.6 s for /usr's 139k entries), the hashing runs in worker threads meanwhile anyway, and
 * a consumer pays no promise per entry.
 */
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { compareNames, displayName, type FimEntry, type FimEntryType } from './fim-entry.js';

/** An entry as stat'ed: everything but its hash and xattrs. */
export interface WalkedEntry {
  entry: Omit<FimEntry, 'sha256' | 'xattrs' | 'unreadable'>;
  /** The path to open: a string, or bytes when a name on the way is not UTF-8. */
  fsPath: string | Buffer;
}

interface Frame {
  children: WalkedEntry[];
  next: number;
}

export function* walkTree(root: string, options: { crossMounts?: boolean } = {}): Generator<WalkedEntry> {
  const rootStats = lstatSync(root, { bigint: true });
  const top = walked(root, '/', rootStats);
  yield top;
  if (top.entry.type !== 'dir') return;
  const stack: Frame[] = [{ children: readChildren(top, rootStats.dev, options), next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const child = frame.children[frame.next++];
    if (!child) {
      stack.pop();
      continue;
    }
    yield child;
    if (child.entry.type === 'dir') {
      const children = readChildren(child, rootStats.dev, options);
      if (children.length > 0) stack.push({ children, next: 0 });
    }
  }
}

/** Lists a directory's children, sorted, stat'ed; none when it is another filesystem's root. */
function readChildren(dir: WalkedEntry, rootDev: bigint, options: { crossMounts?: boolean }): WalkedEntry[] {
  const dirStats = devOf.get(dir);
  if (!options.crossMounts && dirStats !== undefined && dirStats !== rootDev) return [];
  let named: { name: string; fsPath: string | Buffer }[];
  try {
    named = listNames(dir.fsPath);
  } catch (error) {
    // A directory that vanished or cannot be listed shows as an empty one: its children are
    // then reported removed, never silently skipped.
    if (isFsError(error)) return [];
    throw error;
  }
  named.sort((a, b) => compareNames(a.name, b.name));
  const children: WalkedEntry[] = [];
  const prefix = dir.entry.path === '/' ? '/' : `${dir.entry.path}/`;
  for (const { name, fsPath } of named) {
    const path = prefix + name;
    let stats: BigIntStats | undefined;
    try {
      stats = lstatSync(fsPath, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      if (!isFsError(error)) throw error;
    }
    // undefined: gone between readdir and lstat
    if (stats) children.push(walked(fsPath, path, stats));
  }
  return children;
}
/**
 * A directory's names, each with the path to open. Names are read as strings, which costs no Buffer
 * per name; only a directory where one decodes with U+FFFD (bytes that are not UTF-8, or that
 * character itself) is listed again as bytes, so that such a name is spelled by `displayName`.
 */
function listNames(dir: string | Buffer): { name: string; fsPath: string | Buffer }[] {
  if (typeof dir === 'string') {
    const names = readdirSync(dir, 'utf8');
    if (!names.some((name) => name.includes('\uFFFD') || name.includes('\\'))) {
      const base = dir.endsWith('/') ? dir : `${dir}/`;
      return names.map((name) => ({ name, fsPath: base + name }));
    }
  }
  return readdirSync(dir, { encoding: 'buffer' }).map((bytes) => {
    const name = displayName(bytes);
    return { name, fsPath: childFsPath(dir, bytes, name) };
  });
}

/** The device of each directory, kept off the entry so it is neither recorded nor compared. */
const devOf = new WeakMap<WalkedEntry, bigint>();

function walked(fsPath: string | Buffer, path: string, stats: BigIntStats): WalkedEntry {
  const type = typeOf(stats);
  const entry: WalkedEntry['entry'] = {
    path,
    type,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    size: Number(stats.size),
    mtime: stats.mtimeNs.toString(),
    ctime: stats.ctimeNs.toString(),
    ino: stats.ino.toString(),
  };
  if (type === 'symlink') {
    try {
      entry.target = displayName(readlinkSync(fsPath, { encoding: 'buffer' }));
    } catch {
      entry.target = '';
    }
  }
  const result = { entry, fsPath };
  if (type === 'dir') devOf.set(result, stats.dev);
  return result;
}

function childFsPath(parent: string | Buffer, bytes: Buffer, name: string): string | Buffer {
  // A name displayed as written is its own UTF-8 spelling; otherwise the raw bytes must be used.
  const exact =
    typeof parent === 'string' && !name.includes('\\') && Buffer.byteLength(name) === bytes.length;
  if (exact) return parent.endsWith('/') ? `${parent}${name}` : `${parent}/${name}`;
  const prefix = typeof parent === 'string' ? Buffer.from(parent, 'utf8') : parent;
  const slash = prefix[prefix.length - 1] === 0x2f ? Buffer.alloc(0) : Buffer.from('/');
  return Buffer.concat([prefix, slash, bytes]);
}

function typeOf(stats: BigIntStats): FimEntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  return 'unknown';
}

function isFsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM';
}
