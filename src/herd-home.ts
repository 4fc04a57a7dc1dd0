/**
 * HERD_HOME: herd's own state directory (default ./.herd). herd writes nowhere else, except the
 * lock beside the spec and files the user names.
 */
import { resolve } from 'node:path';

export interface HerdHome {
  root: string;
  store: string;
  debCache: string;
  layerCache: string;
  unpackedCache: string;
  /** Packages indexes by the sha256 their signed Release gives them (src/debian/index-cache.ts). */
  indexCache: string;
  /** Sealed resolutions by the InRelease files and request they were made from (src/builder/resolution-memo.ts). */
  resolutionCache: string;
  /** Image layers kept uncompressed by diff_id, with a sealed index of their files (src/oci/flattened-layer-cache.ts). */
  flattenedLayerCache: string;
  /** The key that seals what herd derives into the cache (oci/cache-seal.ts, builder/cache-seal.ts); outside cache/ on purpose. */
  cacheSealKey: string;
  /** SQLite: the journal, the catalog, the fleets and every other area's tables (src/state). */
  stateDb: string;
  keys: string;
  /** The log store: instances' output, kept after they are gone (src/logs). */
  logs: string;
  /** The newest signed Release Date accepted per repository and suite, against rollbacks. */
  archiveDates: string;
  /** Transcripts of debug sessions as they are written, until each is in the store (src/debug). */
  debug: string;
  /** Each remediation run's own herd.lock, until a release carries it back to the spec (src/pipeline). */
  pipeline: string;
}

export function herdHome(env: NodeJS.ProcessEnv = process.env): HerdHome {
  const root = resolve(env.HERD_HOME ?? '.herd');
  return {
    root,
    store: resolve(root, 'store'),
    debCache: resolve(root, 'cache', 'debs'),
    layerCache: resolve(root, 'cache', 'layers'),
    unpackedCache: resolve(root, 'cache', 'unpacked'),
    indexCache: resolve(root, 'cache', 'indexes'),
    resolutionCache: resolve(root, 'cache', 'resolutions'),
    flattenedLayerCache: resolve(root, 'cache', 'flattened'),
    cacheSealKey: resolve(root, 'keys', 'cache-seal.key'),
    stateDb: resolve(root, 'herd.db'),
    keys: resolve(root, 'keys'),
    logs: resolve(root, 'logs'),
    archiveDates: resolve(root, 'archive-dates.json'),
    debug: resolve(root, 'debug'),
    pipeline: resolve(root, 'pipeline'),
  };
}
