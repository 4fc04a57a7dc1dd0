/**
 * Locking a spec: resolve its packages against the archive with herd's memory of it (the Release
 * dates herd.lock and HERD_HOME remember go to the resolver, the dates it accepted are remembered
 * afterwards), then write herd.lock, or compare it with what the archive serves now.
 */
import {
  ArchiveDates,
  BuildError,
  diffLocks,
  type Lock,
  type LockChange,
  type LockResolution,
  ResolutionMemo,
  readLock,
  rememberedFromLock,
  resolveLock,
  writeLock,
} from '../builder/index.js';
import { type AptSource, type Fetcher, PackagesIndexCache, type ReleaseDowngrade } from '../debian/index.js';
import type { HerdHome } from '../herd-home.js';
import type { LayoutStore } from '../oci/index.js';
import type { LoadedSpec } from '../specfile/index.js';
import { catalogBaseSource } from './catalog-base-source.js';
import type { PipelineState } from './parts.js';

/** A loaded spec with where its lock goes and the archive it resolves against. */
export interface SpecInputs {
  loaded: LoadedSpec;
  lockPath: string;
  sources: AptSource[];
  fetcher: Fetcher;
}

export interface LockParts {
  /** Where `image.from` is read from. */
  store: LayoutStore;
  /** The catalog resolves `image.from: service@stage`. */
  state: Pick<PipelineState, 'catalog'>;
  /** HERD_HOME's memory of the newest Release dates accepted, and its cache of Packages indexes. */
  home: Pick<HerdHome, 'archiveDates' | 'indexCache' | 'resolutionCache' | 'cacheSealKey'>;
}

export async function resolveSpecLock(
  spec: SpecInputs,
  parts: LockParts,
  options: { previous?: Lock; allowDowngrade?: boolean } = {},
): Promise<LockResolution> {
  const archiveDates = new ArchiveDates(parts.home.archiveDates);
  const remembered = [
    ...(options.previous ? rememberedFromLock(options.previous, { lockPath: spec.lockPath }) : []),
    ...(await archiveDates.read()),
  ];
  const resolution = await resolveLock(spec.loaded, {
    fetcher: spec.fetcher,
    sources: spec.sources,
    store: parts.store,
    baseSource: catalogBaseSource(parts.state.catalog),
    remembered,
    indexCache: new PackagesIndexCache(parts.home.indexCache),
    resolutionMemo: await ResolutionMemo.open({
      dir: parts.home.resolutionCache,
      sealKey: parts.home.cacheSealKey,
    }),
    ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
  });
  // A remembered date only moves forward, so an allowed downgrade does not lower it.
  await archiveDates.record(resolution.releases);
  return resolution;
}

/** What a lock says as it goes, for the caller to tell the user at the moment it happens. */
export interface LockNotices {
  /** The lock being replaced does not read; it is rewritten from the archive, as asked. */
  replacingUnreadable?(lockPath: string, error: BuildError): void;
  /** Older Releases `allowDowngrade` let through. */
  allowedDowngrades?(downgrades: readonly ReleaseDowngrade[]): void;
  /** Cached Packages indexes that did not match their signed digest, downloaded again. */
  replacedCacheEntries?(reasons: readonly string[]): void;
}

/**
 * `herd lock`: resolves and writes herd.lock. A lock that no longer reads is what herd lock is
 * told to rewrite, so it is replaced (HERD_HOME still remembers the Release dates).
 */
export async function lockSpec(
  spec: SpecInputs,
  parts: LockParts,
  options: { allowDowngrade?: boolean; notices?: LockNotices } = {},
): Promise<Lock> {
  const previous = await readPreviousLock(spec.lockPath, options.notices);
  const { lock, downgrades, replacedCacheEntries } = await resolveSpecLock(spec, parts, {
    ...(previous ? { previous } : {}),
    ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
  });
  if (replacedCacheEntries.length > 0) options.notices?.replacedCacheEntries?.(replacedCacheEntries);
  if (downgrades.length > 0) options.notices?.allowedDowngrades?.(downgrades);
  await writeLock(spec.lockPath, lock);
  return lock;
}

/** The lock being replaced, for the Release dates it remembers. */
async function readPreviousLock(lockPath: string, notices: LockNotices = {}): Promise<Lock | undefined> {
  try {
    return await readLock(lockPath);
  } catch (error) {
    if (!(error instanceof BuildError) || error.code !== 'LOCK_INVALID') throw error;
    notices.replacingUnreadable?.(lockPath, error);
    return undefined;
  }
}

/** What `herd lock --check` found: the lock against what the archive serves now. */
export type LockCheck =
  | { kind: 'missing' }
  /** The archive went back in time: herd lock would refuse its Release unless told to allow it. */
  | { kind: 'rolled-back'; downgrades: ReleaseDowngrade[] }
  | { kind: 'current'; lock: Lock }
  | {
      kind: 'outdated';
      current: Lock;
      fresh: Lock;
      changes: LockChange[];
      /** Set when the spec itself changed since the lock was written. */
      specChanged: boolean;
    };

/**
 * The changes that take a package back: an older version, or other bytes under the same version (a
 * mirror re-publishing it). Never built: the update check reports them, a run's lock stage refuses them.
 */
export function backwardChanges(changes: readonly LockChange[]): LockChange[] {
  return changes.filter(
    (change) => change.kind === 'downgraded' || (change.kind === 'changed' && change.from === change.to),
  );
}

/** Resolves again and compares, without writing the lock; remembered Release dates move forward. */
export async function checkSpecLock(spec: SpecInputs, parts: LockParts): Promise<LockCheck> {
  const current = await readLock(spec.lockPath);
  if (!current) return { kind: 'missing' };
  // The check reports a rollback instead of refusing it, so the resolution goes through.
  const { lock: fresh, downgrades } = await resolveSpecLock(spec, parts, {
    previous: current,
    allowDowngrade: true,
  });
  if (downgrades.length > 0) return { kind: 'rolled-back', downgrades };
  const changes = diffLocks(current, fresh);
  const specChanged = current.specDigest !== fresh.specDigest;
  if (changes.length === 0 && !specChanged) return { kind: 'current', lock: current };
  return { kind: 'outdated', current, fresh, changes, specChanged };
}
