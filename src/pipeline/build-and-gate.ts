/**
 * Building a spec into the store and gating it, for `herd build` and `herd up`: lock first when
 * there is no herd.lock yet, build, journal `build`, then gate unless told not to. An image that
 * fails the gate stays in the store, unnamed and unsigned, and the pipeline stops there.
 */
import { join } from 'node:path';
import type { BuildProgress, DebCache, LayerCache, UnpackedDebCache } from '../builder/index.js';
import { type BuiltImage, buildImage, formatLock, type Lock, readLock } from '../builder/index.js';
import { removeStaleTempFiles } from '../common/index.js';
import type { Verdict } from '../gate/index.js';
import { type GateParts, gateStoredImage } from './gate.js';
import { type LockNotices, lockSpec, type SpecInputs } from './lock.js';

export interface BuildParts extends GateParts {
  debCache: DebCache;
  layerCache: LayerCache;
  unpackedCache: UnpackedDebCache;
  progress: BuildProgress;
}

export interface BuildRequest {
  /** `--no-gate` is for debugging a build, never for shipping one: the image stays unnamed. */
  gate: boolean;
  allowDowngrade?: boolean;
  /** SOURCE_DATE_EPOCH, when the caller has one; else the lock's date. */
  sourceDateEpoch?: number;
  /** Recorded in the provenance. */
  herdVersion: string;
  notices?: LockNotices;
}

export interface BuiltAndGated {
  image: BuiltImage;
  lock: Lock;
  /** Absent when the gate was skipped. */
  verdict?: Verdict;
}

export async function buildAndGate(
  spec: SpecInputs,
  parts: BuildParts,
  request: BuildRequest,
): Promise<BuiltAndGated> {
  const { progress, state } = parts;
  const swept = await removeStaleTempFiles([
    join(parts.store.root, 'blobs', 'sha256'),
    parts.debCache.filesDir,
    parts.unpackedCache.dir,
    parts.layerCache.dir,
  ]);
  if (swept.length > 0) progress.step(`removed ${swept.length} temp files a killed herd left behind`);
  let lock = await readLock(spec.lockPath);
  if (!lock) {
    progress.step(`no herd.lock yet: resolving ${spec.loaded.spec.image.packages.join(', ')}`);
    lock = await lockSpec(spec, parts, {
      ...(request.allowDowngrade ? { allowDowngrade: true } : {}),
      ...(request.notices ? { notices: request.notices } : {}),
    });
    progress.step(`wrote ${spec.lockPath} (${lock.packages.length} packages)`);
  }
  const image = await buildImage(spec.loaded, lock, {
    store: parts.store,
    debCache: parts.debCache,
    layerCache: parts.layerCache,
    unpackedCache: parts.unpackedCache,
    fetcher: spec.fetcher,
    sources: spec.sources,
    lockPath: spec.lockPath,
    ...(request.sourceDateEpoch !== undefined ? { sourceDateEpoch: request.sourceDateEpoch } : {}),
    progress,
    herdVersion: request.herdVersion,
  });
  state.journal.append({
    actor: state.actor,
    action: 'build',
    service: spec.loaded.spec.service,
    digest: image.digest,
    details: {
      ref: image.refName,
      spec: spec.loaded.digest,
      packages: image.packageCount,
      layers: image.layers.map((l) => l.digest),
    },
  });
  if (!request.gate) return { image, lock };
  const verdict = await gateStoredImage(image.digest, parts, {
    spec: spec.loaded,
    // The lock's own bytes, as herd.lock holds them: the gate checks them against the image label.
    lockFile: Buffer.from(formatLock(lock)),
  });
  return { image, lock, verdict };
}
