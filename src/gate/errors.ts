import { HerdError } from '../herd-error.js';

/**
 * Every failure src/gate raises on purpose. Tests assert these codes, not the messages. A failed
 * gate is not an error: it is a verdict with `passed: false`.
 */
export type GateErrorCode =
  /** The digest names no manifest in the store. */
  | 'IMAGE_UNKNOWN'
  /** The digest names a blob that is not an image manifest, or its config is not an image config. */
  | 'IMAGE_INVALID'
  /** A layer holds what no image may (device nodes, unsafe paths) or cannot be read. */
  | 'LAYER_INVALID'
  /** A layer that decompresses past the gate's cap (a decompression bomb). */
  | 'DECOMPRESSED_TOO_LARGE'
  /** A layer's media type is not one the gate can unpack. */
  | 'LAYER_UNSUPPORTED'
  /** The attached file manifest is not about this image, is not a file manifest, or is not the only one. */
  | 'FILE_MANIFEST_INVALID'
  /** The lock handed in is not the one the image was built from (its digest differs from the label). */
  | 'LOCK_MISMATCH'
  /** The lock handed in is not a herd.lock. */
  | 'LOCK_INVALID'
  /** Vulnerabilities were to be matched, but neither the caller nor the image says its Debian suite. */
  | 'SUITE_UNKNOWN'
  /** A verdict about one image was to be attached to another. */
  | 'VERDICT_MISMATCH'
  /** A verdict attached to an image is not a verdict document. */
  | 'VERDICT_INVALID';

export class GateError extends HerdError<GateErrorCode> {}
