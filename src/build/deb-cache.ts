/**
 * A content-addressed cache of .deb files at HERD_HOME/cache/debs/sha256/<hex>. Every read is
 * verified against the lock's sha256, so a tampered cache entry is refused, not used.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DebTars } from '../debian/deb.js';
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
    await mkdir(join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    await writeAtomic(this.pathOf(pkg.sha256), bytes);
    return bytes;
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Decompressed package contents, keyed by the .deb's sha256: xz decoding is most of an unpack,
 * and a warm build need not repeat it. The tars are re-read as hostile input on every use (all of
 * readDebTars' checks apply), and their sha256 is checked against what was recorded when they
 * were written, so a tampered entry is refused, not used.
 */
export class UnpackedDebCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async get(pkg: LockedPackage): Promise<DebTars | undefined> {
    const base = join(this.dir, pkg.sha256);
    let recorded: { controlMember: string; dataMember: string; control: string; data: string };
    try {
      recorded = JSON.parse(await readFile(`${base}.json`, 'utf8'));
    } catch {
      return undefined;
    }
    const [control, data] = await Promise.all([
      readFile(`${base}.control.tar`),
      readFile(`${base}.data.tar`),
    ]);
    for (const [name, bytes, expected] of [
      ['control', control, recorded.control],
      ['data', data, recorded.data],
    ] as const) {
      const actual = sha256Hex(bytes);
      if (actual !== expected) {
        throw new BuildError(
          'DEB_MISMATCH',
          `unpacked ${name}.tar of ${pkg.name}_${pkg.version} in ${this.dir} is tampered: got sha256:${actual}, ` +
            `recorded sha256:${expected}; delete ${base}.* to unpack it again`,
        );
      }
    }
    return { controlMember: recorded.controlMember, dataMember: recorded.dataMember, control, data };
  }

  async put(pkg: LockedPackage, tars: DebTars): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const base = join(this.dir, pkg.sha256);
    await writeAtomic(`${base}.control.tar`, tars.control);
    await writeAtomic(`${base}.data.tar`, tars.data);
    // The record goes last: an entry without it is treated as absent.
    const record = {
      controlMember: tars.controlMember,
      dataMember: tars.dataMember,
      control: sha256Hex(tars.control),
      data: sha256Hex(tars.data),
    };
    await writeAtomic(`${base}.json`, `${JSON.stringify(record)}\n`);
  }
}
