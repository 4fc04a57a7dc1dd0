/**
 * Runs herd's lock and build in-process against a spec, with a fresh HERD_HOME, so integration
 * tests can assert on codes and on the store without shelling out.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseImageSource } from '../../src/builder/base-image.js';
import { type BuiltImage, buildImage } from '../../src/builder/build-image.js';
import { DebCache, UnpackedDebCache } from '../../src/builder/deb-cache.js';
import { LayerCache } from '../../src/builder/layer-cache.js';
import { type Lock, writeLock } from '../../src/builder/lock-file.js';
import type { BuildProgress } from '../../src/builder/progress.js';
import { resolveLock, sourcesForSpec } from '../../src/builder/resolve-lock.js';
import { HttpFetcher } from '../../src/debian/fetcher.js';
import { LayoutStore } from '../../src/oci/layout-store.js';
import { loadSpec } from '../../src/specfile/load.js';
import type { LoadedSpec } from '../../src/specfile/types.js';

export async function freshHome(prefix = 'herd-home-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function writeSpecDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-spec-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

export interface LockedBuild {
  loaded: LoadedSpec;
  lock: Lock;
  image: BuiltImage;
  store: LayoutStore;
  debCache: DebCache;
  home: string;
}

/** A spec with `image.from` needs the store its base is in, and a source for catalog references. */
export interface BaseOptions {
  store?: LayoutStore;
  baseSource?: BaseImageSource;
}

export async function lockSpec(
  specDir: string,
  options: BaseOptions = {},
): Promise<{ loaded: LoadedSpec; lock: Lock }> {
  const loaded = await loadSpec(specDir);
  const { lock } = await resolveLock(loaded, {
    fetcher: new HttpFetcher(),
    sources: sourcesForSpec(loaded),
    ...(options.store ? { store: options.store } : {}),
    ...(options.baseSource ? { baseSource: options.baseSource } : {}),
  });
  return { loaded, lock };
}

export async function openHomeStore(home: string): Promise<LayoutStore> {
  const store = new LayoutStore(join(home, 'store'));
  await store.init();
  return store;
}

export async function lockAndBuild(
  specDir: string,
  options: { home?: string; baseSource?: BaseImageSource } = {},
): Promise<LockedBuild> {
  const home = options.home ?? (await freshHome());
  const store = await openHomeStore(home);
  const { loaded, lock } = await lockSpec(specDir, {
    store,
    ...(options.baseSource ? { baseSource: options.baseSource } : {}),
  });
  // As herd build does: the lock beside the spec, so `herd gate --spec` finds it.
  await writeLock(join(specDir, 'herd.lock'), lock);
  return buildLocked({ loaded, lock }, { home, store });
}

/** Builds from a given lock, as `herd build` does when herd.lock exists. */
export async function buildLocked(
  locked: { loaded: LoadedSpec; lock: Lock },
  options: { home: string; store?: LayoutStore; progress?: BuildProgress },
): Promise<LockedBuild> {
  const { loaded, lock } = locked;
  const { home } = options;
  const specDir = loaded.dir;
  const store = options.store ?? (await openHomeStore(home));
  const debCache = new DebCache(join(home, 'cache', 'debs'));
  const image = await buildImage(loaded, lock, {
    store,
    debCache,
    layerCache: new LayerCache(join(home, 'cache', 'layers')),
    unpackedCache: new UnpackedDebCache(join(home, 'cache', 'unpacked'), {
      sealKey: join(home, 'keys', 'cache-seal.key'),
    }),
    fetcher: new HttpFetcher(),
    sources: sourcesForSpec(loaded),
    lockPath: join(specDir, 'herd.lock'),
    herdVersion: 'test',
    ...(options.progress ? { progress: options.progress } : {}),
  });
  return { loaded, lock, image, store, debCache, home };
}
