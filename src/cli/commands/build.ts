import { buildImage } from '../../builder/build-image.js';
import { formatLock, readLock, writeLock } from '../../builder/lock-file.js';
import { formatBytes } from '../format.js';
import { herdVersion } from '../herd-version.js';
import { reportAllowedDowngrades, resolveSpecLock } from '../lock-resolution.js';
import { openSpec, openStore, sourceDateEpochFromEnv } from '../spec-context.js';
import { openState } from '../state-context.js';
import { terminalProgress } from '../terminal-progress.js';
import { gateAndStore, renderReport } from './gate.js';

/** `herd build [spec]`: locks first when there is no lock yet, then builds into HERD_HOME/store and gates. */
export async function buildCommand(
  specPath: string,
  options: { json?: boolean; gate?: boolean; allowDowngrade?: boolean },
): Promise<number> {
  const { image, verdict, store } = await buildAndGate(specPath, {
    gate: options.gate !== false,
    ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
  });
  const exitCode = verdict && !verdict.passed ? 1 : 0;
  if (options.json) {
    const gate = verdict && {
      passed: verdict.passed,
      profile: verdict.profile,
      failing: verdict.summary.failing,
    };
    const quarantined = await store.quarantined(image.digest);
    const naming = quarantined ? { quarantined: quarantined.reason } : {};
    console.log(JSON.stringify({ ...image, ...naming, ...(gate ? { gate } : {}) }, null, 2));
    return exitCode;
  }
  console.log(`built ${image.refName}`);
  console.log(`  digest    ${image.digest}`);
  console.log(
    `  size      ${formatBytes(image.size)} compressed, ${formatBytes(image.unpackedSize)} unpacked, ${image.layers.length} layers`,
  );
  console.log(`  packages  ${image.packageCount}`);
  console.log(`  files     ${image.fileCount}`);
  console.log(`  store     ${store.root}`);
  if (!verdict) {
    console.log('  gate      skipped (--no-gate): this image cannot be signed until herd gate passes');
    console.log(`  name      none yet: quarantined until herd gate ${image.digest} passes`);
    return 0;
  }
  console.log(`  gate      ${verdict.passed ? 'passed' : 'FAILED'} (${verdict.profile})`);
  if (!verdict.passed) {
    console.log(`  name      none: quarantined (gate failed); inspect it as ${image.digest}`);
    process.stdout.write(renderReport(verdict, 'text'));
  }
  return exitCode;
}

/**
 * The build half of the pipeline, for `herd build` and `herd up`: lock when there is no lock,
 * build, journal, then gate unless told not to (the verdict is stored with the image).
 */
export async function buildAndGate(specPath: string, options: { gate: boolean; allowDowngrade?: boolean }) {
  const progress = terminalProgress();
  const context = await openSpec(specPath);
  const { store, debCache, layerCache, unpackedCache } = await openStore();
  let lock = await readLock(context.lockPath);
  if (!lock) {
    progress.step(`no herd.lock yet: resolving ${context.loaded.spec.image.packages.join(', ')}`);
    const resolution = await resolveSpecLock(context, {
      store,
      ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
    });
    reportAllowedDowngrades(resolution.downgrades);
    lock = resolution.lock;
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
  // The gate is part of the build: an image that fails it stays in the store, unsigned, and the
  // pipeline stops here. `--no-gate` is for debugging a build, never for shipping one.
  const verdict = !options.gate
    ? undefined
    : await gateAndStore(store, image.digest, {
        spec: context.loaded,
        // The lock's own bytes, as herd.lock holds them: the gate checks them against the image label.
        lockFile: Buffer.from(formatLock(lock)),
      });
  return { image, verdict, store, context };
}
