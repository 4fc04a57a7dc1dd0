import { HerdError } from '../herd-error.js';

/** Every failure src/oci raises on purpose. Tests assert these codes, not the messages. */
export type OciErrorCode =
  /** Another writer held the store's write lock for too long. */
  | 'STORE_LOCKED'
  | 'TAR_MALFORMED'
  /** A streamed archive that ended before its end-of-archive block, or inside an entry. */
  | 'TAR_TRUNCATED'
  /** A tar entry herd was asked to write would land outside the root: an absolute or `..` path. */
  | 'TAR_UNSAFE_PATH'
  | 'TAR_TOO_LARGE'
  /**
   * An image layer entry a runtime must not apply: an unsafe path, a device, a link that climbs
   * above the root, an entry under a symlink or a file, a whiteout that names nothing.
   */
  | 'LAYER_UNSAFE'
  /** A layer whose media type is neither a tar nor a gzip tar. */
  | 'LAYER_UNSUPPORTED'
  /** Compressed data that decompresses past the cap set for it (a decompression bomb). */
  | 'DECOMPRESSED_TOO_LARGE'
  /** Compressed data that is not valid gzip, xz or zstd, or whose decoder is missing. */
  | 'DECOMPRESS_FAILED'
  /** A layer herd could not gzip: igzip missing, failed, or writing what herd does not expect. */
  | 'LAYER_ENCODE_FAILED'
  | 'BLOB_NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'LAYOUT_INVALID'
  | 'MANIFEST_INVALID'
  | 'REF_NOT_FOUND'
  /** HERD_HOME/keys/cache-seal.key is unreadable or not a key. */
  | 'CACHE_KEY_INVALID'
  /** A flattened-layer cache file whose bytes are not what its sealed index says. */
  | 'CACHE_TAMPERED';

export class OciError extends HerdError<OciErrorCode> {}
