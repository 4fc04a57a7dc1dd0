/**
 * resolve: spec + signed repository indexes (+ the base image's installed packages) → herd.lock.
 * Index loading and reading the base are the effects; turning the resolution into a lock is pure
 * (`lockFromResolution`). A Release older than one herd accepted before stops the resolution
 * (release-dates.ts), unless the caller allows the downgrade.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Fetcher, PackageRecord } from '../debian/index.js';
import {
  type AptSource,
  downgradeError,
  fetchSuiteRelease,
  findDowngrades,
  loadSuiteIndex,
  type PackagesIndexCache,
  type ReleaseDowngrade,
  type RememberedReleaseDate,
  readHostSources,
  resolvePackages,
  type ServedRelease,
  type SuiteIndex,
  type SuiteRelease,
  sourcesForSuites,
} from '../debian/index.js';
import type { LayoutStore } from '../oci/index.js';
import type { LoadedSpec, Spec } from '../specfile/index.js';
import { type BaseImageSource, type PinnedBase, readBaseImage, resolveBaseImage } from './base-image.js';
import { BuildError } from './errors.js';
import { type Lock, type LockedFile, lockVersion } from './lock-file.js';
import { releaseMemory } from './release-memory.js';
import type { ResolutionInput, ResolutionMemo, ResolvedPackages } from './resolution-memo.js';

/**
 * Packages every image without a base gets: base-files carries /etc/os-release, which scanners need
 * to name the distro. An image on a base takes the distro (and os-release) from its base.
 */
export const implicitPackages = ['base-files'] as const;

/**
 * Where each suite of the spec comes from: the spec's own repositories when it names them, else the
 * host's apt sources.
 */
export function sourcesForSpec(
  loaded: LoadedSpec,
  options: { hostSources?: () => AptSource[] } = {},
): AptSource[] {
  const image = loaded.spec.image;
  const available = image.repositories
    ? image.repositories.flatMap((repo, index) =>
        repo.suites.map(
          (suite): AptSource => ({
            uri: repo.uri.endsWith('/') ? repo.uri : `${repo.uri}/`,
            suite,
            components: repo.components,
            keyring: {
              kind: 'files',
              paths: [isAbsolute(repo.keyring) ? repo.keyring : join(loaded.dir, repo.keyring)],
            },
            origin: `${loaded.path}: image.repositories[${index}]`,
          }),
        ),
      )
    : (options.hostSources ?? readHostSources)();
  return sourcesForSuites(available, { suites: image.suites, components: image.components });
}

export interface ResolveLockOptions {
  fetcher: Fetcher;
  sources: AptSource[];
  now?: Date;
  /** Resolves `image.from`; without it, only a digest resolves (to itself). */
  baseSource?: BaseImageSource;
  /** Where the base image is read from; needed when the spec has `image.from`. */
  store?: LayoutStore;
  /**
   * Release dates accepted before (herd.lock's, HERD_HOME's). A Release older than one of them is
   * a rollback and is refused with RELEASE_DOWNGRADE.
   */
  remembered?: RememberedReleaseDate[];
  /** `--allow-downgrade`: take older Releases all the same; they are returned, to be reported. */
  allowDowngrade?: boolean;
  /** Packages indexes kept by their signed digest; without it, every index is downloaded. */
  indexCache?: PackagesIndexCache;
  /** Resolutions made before, taken again while every InRelease and the request are unchanged. */
  resolutionMemo?: ResolutionMemo;
}

export interface LockResolution {
  lock: Lock;
  /** Releases older than remembered, taken because `allowDowngrade` was set; empty otherwise. */
  downgrades: ReleaseDowngrade[];
  /** Every Release the lock was resolved from, for the caller to remember. */
  releases: ServedRelease[];
  /** Cached indexes that did not match their signed digest and were downloaded again, to be reported. */
  replacedCacheEntries: string[];
}

export async function resolveLock(loaded: LoadedSpec, options: ResolveLockOptions): Promise<LockResolution> {
  const base = await readBaseForLock(loaded, options);
  // Every InRelease is verified, and its date compared with what herd remembers, before any
  // Packages index is fetched.
  const verified = await Promise.all(
    options.sources.map((source) =>
      fetchSuiteRelease(source, { fetcher: options.fetcher, ...(options.now ? { now: options.now } : {}) }),
    ),
  );
  const releases = verified.map(servedRelease);
  const downgrades = findDowngrades(releases, options.remembered ?? []);
  if (downgrades.length > 0 && !options.allowDowngrade) throw downgradeError(downgrades);
  const input = resolutionInput(loaded, { releases: verified, ...(base ? { base } : {}) });
  const key = options.resolutionMemo?.keyOf(input);
  let resolved = key ? await options.resolutionMemo?.get(key) : undefined;
  let replacedCacheEntries: string[] = [];
  if (!resolved) {
    ({ resolved, replacedCacheEntries } = await resolveFromArchive(loaded, input, {
      ...options,
      releases: verified,
      ...(base ? { base } : {}),
    }));
    // The indexes' records are garbage now; what comes next (a build) should not stack on them.
    releaseMemory();
    if (key) await options.resolutionMemo?.put(key, resolved);
  }
  const files = await digestAppFiles(loaded);
  const lock = lockFromResolution(loaded, { releases: verified, resolved, files, ...(base ? { base } : {}) });
  return { lock, downgrades, releases, replacedCacheEntries };
}

/** Loads every suite's Packages indexes and resolves; the records are dropped when it returns. */
async function resolveFromArchive(
  loaded: LoadedSpec,
  input: ResolutionInput,
  options: ResolveLockOptions & { releases: SuiteRelease[]; base?: { packages: PackageRecord[] } },
): Promise<{ resolved: ResolvedPackages; replacedCacheEntries: string[] }> {
  const indexes = await Promise.all(
    options.releases.map((release) =>
      loadSuiteIndex(release, {
        architecture: loaded.spec.image.architecture,
        fetcher: options.fetcher,
        ...(options.indexCache ? { cache: options.indexCache } : {}),
      }),
    ),
  );
  return {
    resolved: resolveIndexes(input, { indexes, ...(options.base ? { base: options.base } : {}) }),
    replacedCacheEntries: indexes.flatMap((index) => index.replacedCacheEntries),
  };
}

function servedRelease(verified: SuiteRelease): ServedRelease {
  return {
    repository: verified.source.uri,
    suite: verified.source.suite,
    ...(verified.release.date ? { date: verified.release.date } : {}),
  };
}

/** The base `image.from` names now, with the packages it has installed; undefined without one. */
async function readBaseForLock(
  loaded: LoadedSpec,
  options: ResolveLockOptions,
): Promise<(PinnedBase & { packages: PackageRecord[] }) | undefined> {
  const from = loaded.spec.image.from;
  if (!from) return undefined;
  const pinned = await resolveBaseImage(from, options.baseSource);
  if (!options.store) {
    throw new BuildError(
      'BASE_NOT_FOUND',
      `image.from ${pinned.ref}: no image store was given to read ${pinned.digest} from`,
    );
  }
  const base = await readBaseImage(options.store, pinned, { architecture: loaded.spec.image.architecture });
  return { ref: base.ref, digest: base.digest, packages: base.packages };
}

/**
 * What a resolution depends on: the verified Releases (which name every index by digest), the
 * spec's requests with the implicit packages, its options, and the base. The resolution memo is
 * keyed by exactly this.
 */
function resolutionInput(
  loaded: LoadedSpec,
  input: { releases: SuiteRelease[]; base?: PinnedBase },
): ResolutionInput {
  const spec: Spec = loaded.spec;
  const implicit = input.base
    ? []
    : implicitPackages.filter((name) => !spec.image.packages.some((p) => requestedName(p) === name));
  return {
    releases: input.releases,
    architecture: spec.image.architecture,
    recommends: spec.image.recommends,
    suites: spec.image.suites,
    requests: [...spec.image.packages, ...implicit],
    // base-files Pre-Depends on awk only for its maintainer scripts, which herd never runs
    // (distroless takes it the same way).
    withoutDependencies: implicit,
    ...(input.base ? { baseDigest: input.base.digest } : {}),
  };
}

/**
 * Pure: the packages a lock pins, given the verified indexes and, for an image on a base, the
 * base's installed packages. Those count as selected: they satisfy dependencies, are not added
 * again, and are never upgraded (newer versions are listed as held).
 */
export function resolveIndexes(
  input: ResolutionInput,
  context: { indexes: SuiteIndex[]; base?: { packages: PackageRecord[] } },
): ResolvedPackages {
  const universe: PackageRecord[] = context.indexes.flatMap((index) => index.packages);
  const resolved = resolvePackages(universe, input.requests, {
    architecture: input.architecture,
    recommends: input.recommends,
    suites: [...input.suites],
    withoutDependencies: input.withoutDependencies,
    ...(context.base ? { installed: context.base.packages } : {}),
  });
  const reasons = new Map(resolved.reasons);
  for (const name of input.withoutDependencies) {
    if (reasons.get(name) === 'requested') reasons.set(name, 'implicit');
  }
  return {
    packages: resolved.packages.map((p) => ({
      name: p.name,
      version: p.version,
      architecture: p.architecture,
      source: p.source,
      sourceVersion: p.sourceVersion,
      suite: p.suite,
      filename: p.filename,
      size: p.size,
      sha256: p.sha256,
      reason: reasons.get(p.name) ?? 'requested',
    })),
    held: resolved.held.map((held) => ({
      name: held.installed.name,
      version: held.installed.version,
      available: held.available.version,
      suite: held.available.suite,
    })),
  };
}

/** Pure: the lock for a spec, from its verified Releases, its resolved packages and its app files. */
export function lockFromResolution(
  loaded: LoadedSpec,
  input: {
    releases: SuiteRelease[];
    resolved: ResolvedPackages;
    files: LockedFile[];
    base?: PinnedBase & { packages: PackageRecord[] };
  },
): Lock {
  const spec: Spec = loaded.spec;
  const dates = input.releases.map((r) => r.release.date?.getTime() ?? 0);
  return {
    lockVersion,
    service: spec.service,
    specDigest: loaded.digest,
    date: new Date(Math.max(0, ...dates)).toISOString(),
    suite: spec.image.suite,
    architecture: spec.image.architecture,
    ...(input.base
      ? {
          base: {
            ref: input.base.ref,
            digest: input.base.digest,
            packages: input.base.packages.length,
            held: input.resolved.held,
          },
        }
      : {}),
    suites: input.releases.map((release) => ({
      suite: release.source.suite,
      ...(release.release.codename ? { codename: release.release.codename } : {}),
      ...(release.release.date ? { date: release.release.date.toISOString() } : {}),
      inRelease: release.inReleaseSha256,
      signer: release.signer,
    })),
    files: input.files,
    packages: input.resolved.packages,
  };
}

/** `nodejs=18.1` and `nodejs/bookworm` request `nodejs`. */
function requestedName(request: string): string {
  return request.split(/[=/]/, 1)[0] as string;
}

/** sha256 of every app file the spec copies in, in spec order. */
export async function digestAppFiles(loaded: LoadedSpec): Promise<LockedFile[]> {
  const files: LockedFile[] = [];
  for (const [index, file] of loaded.spec.files.entries()) {
    const bytes = await readAppFile(loaded, index);
    files.push({ src: file.src, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return files;
}

export async function readAppFile(loaded: LoadedSpec, index: number): Promise<Buffer> {
  const file = loaded.spec.files[index];
  if (!file) throw new BuildError('APP_FILE_MISSING', `${loaded.path}: files[${index}] does not exist`);
  try {
    return await readFile(join(loaded.dir, file.src));
  } catch {
    throw new BuildError(
      'APP_FILE_MISSING',
      `${loaded.path}: files[${index}].src ${file.src} cannot be read from ${loaded.dir}`,
    );
  }
}

/**
 * A lock is usable only for the spec and app files it was written for; otherwise the build would
 * not be the function of the lock that it claims to be.
 */
export async function checkLockIsCurrent(loaded: LoadedSpec, lock: Lock, lockPath: string): Promise<void> {
  if (lock.specDigest !== loaded.digest) {
    throw new BuildError(
      'LOCK_STALE',
      `${loaded.path} changed since ${lockPath} was written (lock has ${lock.specDigest}, spec is ${loaded.digest}); run herd lock`,
    );
  }
  const from = loaded.spec.image.from;
  if (Boolean(from) !== Boolean(lock.base)) {
    throw new BuildError(
      'LOCK_STALE',
      `${lockPath} ${lock.base ? `pins base ${lock.base.ref}` : 'pins no base'}, but ${loaded.path} ${
        from ? 'has image.from' : 'has no image.from'
      }; run herd lock`,
    );
  }
  const files = await digestAppFiles(loaded);
  for (const [index, file] of files.entries()) {
    const locked = lock.files[index];
    if (!locked || locked.src !== file.src || locked.sha256 !== file.sha256) {
      throw new BuildError(
        'LOCK_STALE',
        `files[${index}].src ${file.src} changed since ${lockPath} was written (lock has ${
          locked ? `sha256:${locked.sha256}` : 'no entry'
        }, file is sha256:${file.sha256}); run herd lock`,
      );
    }
  }
}
