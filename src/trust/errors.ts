import { HerdError } from '../herd-error.js';

/** Every failure src/trust raises on purpose. Tests assert these codes, not the messages. */
export type TrustErrorCode =
  /** Admission refused a digest: unsigned, not gate-passed, unreleased or revoked. */
  | 'ADMISSION_REFUSED'
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
