import { HerdError } from '../herd-error.js';

/** What the integrity monitor and its responses raise on purpose; tests assert the code. */
export type WatchErrorCode =
  /** The image has no file manifest attestation to compare with. */
  | 'MANIFEST_MISSING'
  /** The image's signature or its attestations did not verify with the trusted keys. */
  | 'MANIFEST_UNTRUSTED'
  /** The attested file manifest is not herd's shape. */
  | 'MANIFEST_INVALID'
  /** The export is not a tar archive herd accepts (bad checksum, hostile path, bad field). */
  | 'EXPORT_MALFORMED'
  /** The export ended before its end-of-archive marker, or inside an entry. */
  | 'EXPORT_TRUNCATED'
  /** The export is beyond the limits (entries, header size). */
  | 'EXPORT_TOO_LARGE'
  /** No herd instance with that id on the engine. */
  | 'INSTANCE_NOT_FOUND'
  /** An id prefix that matches more than one instance. */
  | 'INSTANCE_AMBIGUOUS';

export class WatchError extends HerdError<WatchErrorCode> {}
