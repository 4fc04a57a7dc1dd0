/**
 * Resolutions herd has made before, at HERD_HOME/cache/resolutions/<key>.json. A resolution is a
 * pure function of the signed InRelease files (which name every Packages index by digest), the
 * spec's requests and options, and the base image's digest; the key is the sha256 of exactly
 * those. So `herd lock` against an archive that has not changed since (the remediation loop's
 * usual case) verifies each InRelease and reads no Packages index at all. Entries are sealed
 * (src/oci/cache-seal.ts) under their key: an edited, forged or moved entry is not read, and the
 * resolution is made again from the signed indexes.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, readRegularFile, sha256Hex, writeAtomic } from '../common/index.js';
import type { SuiteRelease } from '../debian/index.js';
import { CacheSeal } from '../oci/index.js';
import type { HeldBasePackage, LockedPackage } from './lock-file.js';

/**
 * Part of every key: raise it when the resolver or the fields of a locked package change meaning,
 * so no resolution made by older code is taken.
 */
const memoRevision = 1;
/** A resolution of every package of Debian is a few MB; a larger file here was not written by herd. */
const maxEntryBytes = 256 * 1024 ** 2;

/** What a lock takes from a resolution. */
export interface ResolvedPackages {
  packages: LockedPackage[];
  held: HeldBasePackage[];
}

/** Everything a resolution depends on. */
export interface ResolutionInput {
  releases: readonly SuiteRelease[];
  architecture: string;
  recommends: boolean;
  suites: readonly string[];
  requests: readonly string[];
  withoutDependencies: readonly string[];
  baseDigest?: string;
}

export class ResolutionMemo {
  private constructor(
    readonly dir: string,
    private readonly seal: CacheSeal,
  ) {}

  static async open(options: { dir: string; sealKey: string }): Promise<ResolutionMemo> {
    return new ResolutionMemo(options.dir, await CacheSeal.open(options.sealKey));
  }

  keyOf(input: ResolutionInput): string {
    return sha256Hex(
      canonicalJson({
        revision: memoRevision,
        releases: input.releases.map((r) => ({
          repository: r.source.uri,
          suite: r.source.suite,
          components: [...r.source.components],
          inRelease: r.inReleaseSha256,
        })),
        architecture: input.architecture,
        recommends: input.recommends,
        suites: [...input.suites],
        requests: [...input.requests],
        withoutDependencies: [...input.withoutDependencies],
        base: input.baseDigest ?? null,
      }),
    );
  }

  pathOf(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The sealed resolution under `key`; undefined when there is none or its seal does not hold. */
  async get(key: string): Promise<ResolvedPackages | undefined> {
    let entry: { seal?: unknown; body?: unknown };
    try {
      // Only a regular file: a FIFO or a link to /dev/zero planted here is no entry, made again.
      const read = await readRegularFile(this.pathOf(key), { maxBytes: maxEntryBytes });
      if (read.kind !== 'file') return undefined;
      entry = JSON.parse(read.bytes.toString('utf8')) as typeof entry;
    } catch {
      return undefined;
    }
    if (typeof entry.body !== 'string' || !this.seal.verify(purposeOf(key), entry.body, entry.seal)) {
      return undefined;
    }
    return JSON.parse(entry.body) as ResolvedPackages;
  }

  async put(key: string, resolved: ResolvedPackages): Promise<void> {
    const body = JSON.stringify(resolved);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.pathOf(key), JSON.stringify({ seal: this.seal.seal(purposeOf(key), body), body }));
  }
}

/** The key is in the seal, so a sealed entry moved under another key does not verify. */
function purposeOf(key: string): string {
  return `resolution ${key}`;
}
