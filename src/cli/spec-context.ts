import { BuildError, type DebCache, type LayerCache, type UnpackedDebCache } from '../builder/index.js';
import { herdHome } from '../herd-home.js';
import { LayoutStore } from '../oci/index.js';
import { buildCaches, openSpecInputs, type SpecInputs } from '../pipeline/index.js';

/** A loaded spec with where its lock goes and the archive it resolves against. */
export type SpecContext = SpecInputs;

/** The spec as every command opens it (src/pipeline/spec-inputs.ts). */
export const openSpec: (pathOrDir: string) => Promise<SpecContext> = openSpecInputs;

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
    ...buildCaches(home),
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
