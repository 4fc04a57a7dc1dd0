/**
 * Extended attributes. Node has no xattr API, so herd reads them through `@napi-rs/xattr`, a
 * prebuilt binding to `llistxattr(2)` and `lgetxattr(2)`: one system call for an entry without
 * attributes (most of them), one more per attribute, never a process. The `l` calls read a
 * symlink's own attributes, never its target's. They run on the file pool's worker threads, beside
 * the entry's lstat (file-pool.ts). Where the binding does not load (a platform it has no binary
 * for), the baseline says `xattrs: "unsupported"` and no entry carries any.
 */
import { createRequire } from 'node:module';

/**
 * How a baseline's xattrs were read. `getfattr` is what baselines written before the binding say:
 * the same names and hex values, so they are compared as they are.
 */
export type XattrSupport = 'llistxattr' | 'getfattr' | 'unsupported';

/** The subset of `@napi-rs/xattr` herd calls. */
export interface XattrBinding {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
}

/** Where this host reads xattrs from: the binding's module path for the workers to load, or why not. */
export type XattrSource =
  | { support: 'llistxattr'; module: string }
  | { support: 'unsupported'; reason: string };

export function xattrSourceForHost(): XattrSource {
  const require = createRequire(import.meta.url);
  try {
    const module = require.resolve('@napi-rs/xattr');
    // Loaded here once too, so that a binding without a binary for this platform is found now
    // rather than in every worker.
    require(module);
    return { support: 'llistxattr', module };
  } catch (error) {
    return {
      support: 'unsupported',
      reason: `@napi-rs/xattr does not load here: ${(error as Error).message}`,
    };
  }
}

/**
 * One entry's xattrs: name → value in hex, `undefined` when it has none, or a string saying why
 * they could not be read (EACCES, EIO…: never taken as "none", which would hide attributes). An
 * entry that vanished since the walk saw it, or whose filesystem has no xattrs, has none.
 *
 * It runs on the pool's workers from its source text (file-pool.ts), so it refers to nothing
 * outside its own body.
 */
export function readXattrs(binding: XattrBinding, path: string): Record<string, string> | string | undefined {
  try {
    const names = binding.listAttributesSync(path);
    if (names.length === 0) return undefined;
    const found: Record<string, string> = {};
    let count = 0;
    for (const name of names) {
      // null: removed between the list and the read, as if it had never been listed.
      const value = binding.getAttributeSync(path, name);
      if (value !== null) {
        found[name] = value.toString('hex');
        count++;
      }
    }
    return count > 0 ? found : undefined;
  } catch (error) {
    // The binding's errors are plain Errors whose message ends with "(os error N)". None: ENOENT,
    // ENOTDIR (gone since the walk), ENODATA (gone since the list), EOPNOTSUPP (no xattrs here).
    const message = String((error as Error | undefined)?.message ?? error);
    const errno = /\(os error (\d+)\)\s*$/.exec(message)?.[1];
    if (errno === '2' || errno === '20' || errno === '61' || errno === '95') return undefined;
    return message;
  }
}
