/**
 * A content-addressed cache of .deb files at HERD_HOME/cache/debs/sha256/<hex>. Every read is
 * verified against the lock's sha256, so a tampered cache entry is refused, not used.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fetcher } from '../debian/fetcher.js';
import type { AptSource } from '../debian/sources.js';
import { writeAtomic } from '../oci/layout-store.js';
import { BuildError } from './errors.js';
import type { LockedPackage } from './lock-file.js';

export class DebCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /** Returns the cached bytes, verified, or undefined when the deb is not cached yet. */
  async get(pkg: LockedPackage): Promise<Buffer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(pkg.sha256));
    } catch {
      return undefined;
    }
    const actual = sha256Hex(bytes);
    if (actual !== pkg.sha256) {
      throw new BuildError(
        'DEB_MISMATCH',
        `cached ${pkg.name}_${pkg.version}.deb at ${this.pathOf(pkg.sha256)} is tampered: ` +
          `got sha256:${actual}, herd.lock says sha256:${pkg.sha256}; delete the file to fetch it again`,
      );
    }
    return bytes;
  }

  /** Returns the deb from the cache, or fetches it from its suite's source, verifies it and caches it. */
  async fetch(pkg: LockedPackage, options: { fetcher: Fetcher; sources: AptSource[] }): Promise<Buffer> {
    const cached = await this.get(pkg);
    if (cached) return cached;
    const source = options.sources.find((s) => s.suite === pkg.suite);
    if (!source) {
      throw new BuildError(
        'DEB_MISMATCH',
        `herd.lock takes ${pkg.name} from suite ${pkg.suite}, which no configured source serves`,
      );
    }
    const url = `${source.uri}${pkg.filename}`;
    const bytes = await options.fetcher.fetchBytes(url, { maxBytes: pkg.size + 1 });
    const actual = sha256Hex(bytes);
    if (actual !== pkg.sha256 || bytes.length !== pkg.size) {
      throw new BuildError(
        'DEB_MISMATCH',
        `${url} does not match herd.lock: got sha256:${actual} (${bytes.length} bytes), ` +
          `expected sha256:${pkg.sha256} (${pkg.size} bytes)`,
      );
    }
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    await writeAtomic(this.pathOf(pkg.sha256), bytes);
    return bytes;
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
