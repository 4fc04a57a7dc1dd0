/** Wires a spec to the parts a command needs: its lock path, its sources, the store. */
import { dirname, join } from 'node:path';
import { BuildError, DebCache, LayerCache, sourcesForSpec, UnpackedDebCache } from '../builder/index.js';
import { HttpFetcher } from '../debian/index.js';
import { herdHome } from '../herd-home.js';
import { LayoutStore } from '../oci/index.js';
import type { SpecInputs } from '../pipeline/index.js';
import { loadSpec } from '../specfile/index.js';

/** A loaded spec with where its lock goes and the archive it resolves against. */
export type SpecContext = SpecInputs;

export async function openSpec(pathOrDir: string): Promise<SpecContext> {
  const loaded = await loadSpec(pathOrDir);
  return {
    loaded,
    lockPath: join(dirname(loaded.path), 'herd.lock'),
    sources: sourcesForSpec(loaded),
    fetcher: new HttpFetcher(),
  };
}

export interface BuildCaches {
  store: LayoutStore;
  debCache: DebCache;
  layerCache: LayerCache;
  unpackedCache: UnpackedDebCache;
}

export async function openStore(): Promise<BuildCaches> {
  const home = herdHome();
  const store = new LayoutStore(home.store);
  await store.init();
  return {
    store,
    debCache: new DebCache(home.debCache),
    layerCache: new LayerCache(home.layerCache),
    unpackedCache: new UnpackedDebCache(home.unpackedCache, { sealKey: home.cacheSealKey }),
  };
}

export function sourceDateEpochFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) {
    throw new BuildError(
      'SOURCE_DATE_EPOCH_INVALID',
      `SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${value}"`,
    );
  }
  return Number(value);
}
