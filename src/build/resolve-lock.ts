/**
 * resolve: spec + signed repository indexes → herd.lock. Index loading is the effect; turning the
 * resolution into a lock is pure (`lockFromResolution`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Fetcher } from '../debian/fetcher.js';
import { resolvePackages } from '../debian/resolve.js';
import { type AptSource, readHostSources, sourcesForSuites } from '../debian/sources.js';
import { loadSuiteIndex, type SuiteIndex } from '../debian/suite-index.js';
import type { PackageRecord } from '../debian/types.js';
import type { LoadedSpec, Spec } from '../spec/types.js';
import { BuildError } from './errors.js';
import { type Lock, type LockedFile, lockVersion } from './lock-file.js';

/** Packages every image gets: base-files carries /etc/os-release, which scanners need to name the distro. */
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

export async function loadSuiteIndexes(
  sources: AptSource[],
  options: { architecture: string; fetcher: Fetcher; now?: Date },
): Promise<SuiteIndex[]> {
  return Promise.all(sources.map((source) => loadSuiteIndex(source, options)));
}

export async function resolveLock(
  loaded: LoadedSpec,
  options: { fetcher: Fetcher; sources: AptSource[]; now?: Date },
): Promise<Lock> {
  const indexes = await loadSuiteIndexes(options.sources, {
    architecture: loaded.spec.image.architecture,
    fetcher: options.fetcher,
    ...(options.now ? { now: options.now } : {}),
  });
  const files = await digestAppFiles(loaded);
  return lockFromResolution(loaded, { indexes, files });
}

/** Pure: the lock for a spec, given the verified indexes and the app files' digests. */
export function lockFromResolution(
  loaded: LoadedSpec,
  input: { indexes: SuiteIndex[]; files: LockedFile[] },
): Lock {
  const spec: Spec = loaded.spec;
  const universe: PackageRecord[] = input.indexes.flatMap((index) => index.packages);
  const implicit = implicitPackages.filter(
    (name) => !spec.image.packages.some((p) => requestedName(p) === name),
  );
  const resolved = resolvePackages(universe, [...spec.image.packages, ...implicit], {
    architecture: spec.image.architecture,
    recommends: spec.image.recommends,
    suites: spec.image.suites,
    // base-files Pre-Depends on awk only for its maintainer scripts, which herd never runs
    // (distroless takes it the same way).
    withoutDependencies: implicit,
  });
  const reasons = new Map(resolved.reasons);
  for (const name of implicit) if (reasons.get(name) === 'requested') reasons.set(name, 'implicit');
  const packages = resolved.packages.map((p) => ({
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
  }));
  const dates = input.indexes.map((i) => i.release.date?.getTime() ?? 0);
  return {
    lockVersion,
    service: spec.service,
    specDigest: loaded.digest,
    date: new Date(Math.max(0, ...dates)).toISOString(),
    release: spec.image.release,
    architecture: spec.image.architecture,
    suites: input.indexes.map((index) => ({
      suite: index.source.suite,
      ...(index.release.codename ? { codename: index.release.codename } : {}),
      ...(index.release.date ? { date: index.release.date.toISOString() } : {}),
      inRelease: index.inReleaseSha256,
      signer: index.signer,
    })),
    files: input.files,
    packages,
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
