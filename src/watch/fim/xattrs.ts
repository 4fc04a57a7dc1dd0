/**
 * Extended attributes. Node has no xattr API, so herd reads them through `@napi-rs/xattr`, a
 * prebuilt binding to `llistxattr(2)` and `lgetxattr(2)`: two system calls in the walk's own thread
 * for an entry that has attributes, one for the many that have none, never a process. The `l`
 * calls read a symlink's own attributes, never its target's. Where the binding does not load (a
 * platform it has no binary for), the baseline says `xattrs: "unsupported"` and no entry carries
 * any.
 */
import { createRequire } from 'node:module';
import { FimError } from './errors.js';

/**
 * How a baseline's xattrs were read. `getfattr` is what baselines written before the binding say:
 * the same names and hex values, so they are compared as they are.
 */
export type XattrSupport = 'llistxattr' | 'getfattr' | 'unsupported';

export interface XattrReader {
  readonly support: XattrSupport;
  /** Why xattrs cannot be read here, when `support` is `unsupported`. */
  readonly reason?: string;
  /** name → value in hex; `undefined` when the entry has none. */
  read(path: string | Buffer): Record<string, string> | undefined;
}

/** The subset of `@napi-rs/xattr` herd calls. */
interface XattrBinding {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
}

/** A reader for this host: the binding when it loads, else one that reads nothing and says why. */
export function xattrReaderForHost(): XattrReader {
  try {
    const binding = createRequire(import.meta.url)('@napi-rs/xattr') as XattrBinding;
    return new SyscallXattrReader(binding);
  } catch (error) {
    return new NoXattrReader(`@napi-rs/xattr does not load here: ${(error as Error).message}`);
  }
}

export class NoXattrReader implements XattrReader {
  readonly support = 'unsupported' as const;
  readonly reason: string;
  constructor(reason = 'xattrs are not compared') {
    this.reason = reason;
  }
  read(): undefined {
    return undefined;
  }
}

/** errnos that mean "no xattrs to read": gone since the walk saw it, or a filesystem without them. */
const noneErrnos = new Set([2 /* ENOENT */, 20 /* ENOTDIR */, 61 /* ENODATA */, 95 /* EOPNOTSUPP */]);

export class SyscallXattrReader implements XattrReader {
  readonly support = 'llistxattr' as const;
  readonly #binding: XattrBinding;

  constructor(binding: XattrBinding) {
    this.#binding = binding;
  }

  read(path: string | Buffer): Record<string, string> | undefined {
    // The binding takes paths as strings: a path that is not UTF-8 is recorded without xattrs
    // (README.md lists this limit).
    if (typeof path !== 'string') return undefined;
    try {
      const names = this.#binding.listAttributesSync(path);
      if (names.length === 0) return undefined;
      const found: Record<string, string> = {};
      for (const name of names) {
        // null: removed between the list and the read, as if it had never been listed.
        const value = this.#binding.getAttributeSync(path, name);
        if (value !== null) found[name] = value.toString('hex');
      }
      return Object.keys(found).length > 0 ? found : undefined;
    } catch (error) {
      const errno = errnoOf(error);
      if (errno !== undefined && noneErrnos.has(errno)) return undefined;
      // Anything else (EACCES, EIO…) would hide attributes: an error, never "none".
      throw new FimError(
        'XATTRS_UNAVAILABLE',
        `cannot read the xattrs of ${path}: ${(error as Error).message}; expected llistxattr and lgetxattr to succeed`,
        { cause: error },
      );
    }
  }
}

/** The binding's errors are plain `Error`s whose message ends with `(os error N)`. */
export function errnoOf(error: unknown): number | undefined {
  const match = /\(os error (\d+)\)\s*$/.exec((error as Error | undefined)?.message ?? '');
  return match ? Number(match[1]) : undefined;
}
