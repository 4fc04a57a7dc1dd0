/**
 * The walk: the name of every entry under a root, in `comparePaths` order. It reads directories
 * only, and lstats only the directories, to learn whether to enter them: symlinks are never
 * followed, and other filesystems are recorded but not entered unless `crossMounts`. Every entry's
 * own lstat, xattrs and hash are the file pool's work, on the other cores (file-pool.ts). Only the
 * directories on the current path are held.
 *
 * It is synchronous on purpose, down to being a plain generator: on cached metadata a sync call
 * costs a few microseconds against tens for a promise round trip through the thread pool, and a
 * consumer pays no promise per entry.
 */
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { compareNames, displayName } from './fim-entry.js';

/** An entry as the walk names it. */
export interface NamedEntry {
  /** Absolute inside the walked tree: "/" is its root. */
  path: string;
  /** The path to open: a string, or bytes when a name on the way is not UTF-8. */
  fsPath: string | Buffer;
}

interface Listed extends NamedEntry {
  /** The directory entry says it is a directory (d_type, or Node's lstat where d_type is unknown). */
  dir: boolean;
}

interface Frame {
  children: Listed[];
  next: number;
}

export function* walkNames(root: string, options: { crossMounts?: boolean } = {}): Generator<NamedEntry> {
  yield { path: '/', fsPath: root };
  const rootDev = enterableDev(root);
  if (rootDev === undefined) return;
  const enter = (dir: NamedEntry): Listed[] => {
    const dev = enterableDev(dir.fsPath);
    if (dev === undefined || (!options.crossMounts && dev !== rootDev)) return [];
    return readChildren(dir);
  };
  const stack: Frame[] = [{ children: readChildren({ path: '/', fsPath: root }), next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const child = frame.children[frame.next++];
    if (!child) {
      stack.pop();
      continue;
    }
    yield { path: child.path, fsPath: child.fsPath };
    if (child.dir) {
      const children = enter(child);
      if (children.length > 0) stack.push({ children, next: 0 });
    }
  }
}

/** A directory's device when it is (still) a directory to list; `undefined` otherwise. */
function enterableDev(fsPath: string | Buffer): number | undefined {
  try {
    const stats = lstatSync(fsPath, { throwIfNoEntry: false });
    return stats?.isDirectory() ? stats.dev : undefined;
  } catch (error) {
    if (isFsError(error)) return undefined;
    throw error;
  }
}

/** A directory's children, sorted; none when it vanished or cannot be listed. */
function readChildren(dir: NamedEntry): Listed[] {
  let children: Listed[];
  try {
    children = listChildren(dir);
  } catch (error) {
    // A directory that vanished or cannot be listed shows as an empty one: its children are
    // then reported removed, never silently skipped.
    if (isFsError(error)) return [];
    throw error;
  }
  return children.sort((a, b) => compareNames(a.path, b.path));
}

/**
 * Names are read as strings, which costs no Buffer per name; only a directory where one decodes
 * with U+FFFD (bytes that are not UTF-8, or that character itself) or holds a backslash is listed
 * again as bytes, so that each such name is spelled by `displayName`.
 */
function listChildren(dir: NamedEntry): Listed[] {
  const prefix = dir.path === '/' ? '/' : `${dir.path}/`;
  if (typeof dir.fsPath === 'string') {
    const entries = readdirSync(dir.fsPath, { withFileTypes: true });
    if (!entries.some((entry) => entry.name.includes('\uFFFD') || entry.name.includes('\\'))) {
      const base = dir.fsPath.endsWith('/') ? dir.fsPath : `${dir.fsPath}/`;
      return entries.map((entry) => ({
        path: prefix + entry.name,
        fsPath: base + entry.name,
        dir: entry.isDirectory(),
      }));
    }
  }
  const entries = readdirSync(dir.fsPath, { withFileTypes: true, encoding: 'buffer' });
  return entries.map((entry: Dirent<Buffer>) => {
    const name = displayName(entry.name);
    return {
      path: prefix + name,
      fsPath: childFsPath(dir.fsPath, entry.name, name),
      dir: entry.isDirectory(),
    };
  });
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

function isFsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM';
}
