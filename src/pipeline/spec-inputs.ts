/**
 * How a spec and the build caches are opened, the one way for the CLI's commands and the
 * remediation loop alike: the spec with herd.lock beside it and the archive from its repositories
 * (or the host's apt sources), and HERD_HOME's .deb, layer and unpacked caches.
 */
import { join } from 'node:path';
import { DebCache, LayerCache, sourcesForSpec, UnpackedDebCache } from '../builder/index.js';
import { HttpFetcher } from '../debian/index.js';
import type { HerdHome } from '../herd-home.js';
import { loadSpec } from '../specfile/index.js';
import type { SpecInputs } from './lock.js';

export async function openSpecInputs(pathOrDir: string): Promise<SpecInputs> {
  const loaded = await loadSpec(pathOrDir);
  return {
    loaded,
    lockPath: join(loaded.dir, 'herd.lock'),
    sources: sourcesForSpec(loaded),
    fetcher: new HttpFetcher(),
  };
}

export interface BuildCaches {
  debCache: DebCache;
  layerCache: LayerCache;
  unpackedCache: UnpackedDebCache;
}

export function buildCaches(home: HerdHome): BuildCaches {
  return {
    debCache: new DebCache(home.debCache),
    layerCache: new LayerCache(home.layerCache),
    unpackedCache: new UnpackedDebCache(home.unpackedCache, { sealKey: home.cacheSealKey }),
  };
}
