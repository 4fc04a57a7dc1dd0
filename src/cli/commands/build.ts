import { buildImage } from '../../build/build-image.js';
import { readLock, writeLock } from '../../build/lock-file.js';
import { resolveLock } from '../../build/resolve-lock.js';
import { catalogBaseSource } from '../catalog-base-source.js';
import { formatBytes } from '../format.js';
import { herdVersion } from '../herd-version.js';
import { openSpec, openStore, sourceDateEpochFromEnv } from '../spec-context.js';
import { openState } from '../state-context.js';
import { terminalProgress } from '../terminal-progress.js';

/** `herd build [spec]`: locks first when there is no lock yet, then builds into HERD_HOME/store. */
export async function buildCommand(specPath: string, options: { json?: boolean }): Promise<number> {
  const progress = terminalProgress();
  const context = await openSpec(specPath);
  const { store, debCache, layerCache, unpackedCache } = await openStore();
  let lock = await readLock(context.lockPath);
  if (!lock) {
    progress.step(`no herd.lock yet: resolving ${context.loaded.spec.image.packages.join(', ')}`);
    const state = openState();
    try {
      lock = await resolveLock(context.loaded, {
        fetcher: context.fetcher,
        sources: context.sources,
        store,
        baseSource: catalogBaseSource(state.catalog),
      });
    } finally {
      state.close();
    }
    await writeLock(context.lockPath, lock);
    progress.step(`wrote ${context.lockPath} (${lock.packages.length} packages)`);
  }
  const epoch = sourceDateEpochFromEnv();
  const image = await buildImage(context.loaded, lock, {
    store,
    debCache,
    layerCache,
    unpackedCache,
    fetcher: context.fetcher,
    sources: context.sources,
    lockPath: context.lockPath,
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
    progress,
    herdVersion,
  });
  const state = openState();
  try {
    state.journal.append({
      actor: state.actor,
      action: 'build',
      service: context.loaded.spec.service,
      digest: image.digest,
      details: {
        ref: image.refName,
        spec: context.loaded.digest,
        packages: image.packageCount,
        layers: image.layers.map((l) => l.digest),
      },
    });
  } finally {
    state.close();
  }
  if (options.json) {
    console.log(JSON.stringify(image, null, 2));
    return 0;
  }
  console.log(`built ${image.refName}`);
  console.log(`  digest    ${image.digest}`);
  console.log(
    `  size      ${formatBytes(image.size)} compressed, ${formatBytes(image.unpackedSize)} unpacked, ${image.layers.length} layers`,
  );
  console.log(`  packages  ${image.packageCount}`);
  console.log(`  files     ${image.fileCount}`);
  console.log(`  store     ${store.root}`);
  return 0;
}
