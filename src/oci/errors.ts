import { HerdError } from '../herd-error.js';

/** Every failure src/oci raises on purpose. Tests assert these codes, not the messages. */
export type OciErrorCode =
  | 'TAR_MALFORMED'
  | 'TAR_TOO_LARGE'
  | 'BLOB_NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'LAYOUT_INVALID'
  | 'MANIFEST_INVALID'
  | 'REF_NOT_FOUND';

export class OciError extends HerdError<OciErrorCode> {}
