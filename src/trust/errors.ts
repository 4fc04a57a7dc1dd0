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
  /** Signed by a trusted key, but for another repository than the one expected. */
  | 'SIGNATURE_IDENTITY_MISMATCH'
  /** A repository given as an identity that is not `<registry>/<repository>`. */
  | 'IDENTITY_INVALID'
  | 'PAYLOAD_INVALID'
  | 'ATTESTATION_MISSING'
  | 'ATTESTATION_INVALID'
  | 'DIGEST_MISMATCH'
  | 'BLOB_MISSING'
  /** A journal checkpoint that is not a herd checkpoint envelope (see journal-checkpoint.ts). */
  | 'CHECKPOINT_INVALID';

export class TrustError extends HerdError<TrustErrorCode> {}
