/** The bottom layer: what every area of herd uses. It imports nothing of herd's. */
export { type AtomicWriteOptions, createExclusive, writeAtomic, writeChunksAtomic } from './atomic-file.js';
export { canonicalJson, type JsonObject, type JsonValue } from './canonical-json.js';
export { backgroundClock, type Clock, systemClock } from './clock.js';
export { compactJson } from './compact-json.js';
export { type ConcurrencyLimit, concurrencyLimit, mapLimit } from './concurrency.js';
export { exists } from './file-exists.js';
export {
  arrayAt,
  at,
  countAt,
  isoDateTimeAt,
  jsonKind,
  objectAt,
  oneOfAt,
  optionalStringAt,
  ShapeError,
  stringAt,
} from './json-shape.js';
export { type Logger, silentLogger } from './logger.js';
export { reachesItself } from './reaches-itself.js';
export {
  openRegularFile,
  type RegularFileOpen,
  type RegularFileOptions,
  readRegularFile,
} from './regular-file.js';
export { sha256Hex } from './sha256.js';
export { removeStaleTempFiles, tempFileWriter } from './stale-temp-files.js';
