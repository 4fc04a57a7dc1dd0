import { HerdError } from '../../herd-error.js';

/**
 * Every failure the registry client raises on purpose. Tests assert these codes, not the
 * messages. Messages never carry credentials: URLs are redacted and headers are never echoed.
 */
export type RegistryErrorCode =
  | 'REGISTRY_UNREACHABLE'
  | 'AUTH_FAILED'
  /** A credential helper named by an auth file is missing, failed, or answered nonsense. */
  | 'CREDENTIAL_HELPER_FAILED'
  | 'NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'UPLOAD_FAILED'
  | 'REFERENCE_INVALID'
  /** A registry's cosign manifest names more layers, or larger ones, than herd reads. */
  | 'TOO_LARGE'
  | 'PROTOCOL_ERROR';

export class RegistryError extends HerdError<RegistryErrorCode> {}
