/** What other folders use of src/builder/ (docs/architecture.md, "Public entries"). */
export { ArchiveDates, rememberedFromLock } from './archive-dates.js';
export type { BaseImageSource } from './base-image.js';
export { type BuiltImage, buildImage } from './build-image.js';
export { DebCache, UnpackedDebCache } from './deb-cache.js';
export { BuildError } from './errors.js';
export { LayerCache } from './layer-cache.js';
export {
  describeLockChange,
  diffLocks,
  formatLock,
  type Lock,
  type LockChange,
  readLock,
  writeLock,
} from './lock-file.js';
export { type BuildProgress, type PhaseProgress, silentProgress } from './progress.js';
export { ResolutionMemo } from './resolution-memo.js';
export { type LockResolution, resolveLock, sourcesForSpec } from './resolve-lock.js';
