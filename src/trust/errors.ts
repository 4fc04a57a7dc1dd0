import { HerdError } from '../herd-error.js';

/** Every failure src/trust raises on purpose. Tests assert these codes, not the messages. */
export type TrustErrorCode =
  | 'KEY_PASSWORD_WRONG'
  | 'KEY_INVALID'
  | 'KEY_EXISTS'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_WRONG_DIGEST'
  | 'PAYLOAD_INVALID'
  | 'ATTESTATION_MISSING'
  | 'ATTESTATION_INVALID'
  | 'DIGEST_MISMATCH'
  | 'BLOB_MISSING';

export class TrustError extends HerdError<TrustErrorCode> {}
