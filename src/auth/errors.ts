import { HerdError } from '../herd-error.js';

/** Every failure src/auth raises on purpose. Tests assert these codes, not the messages. */
export type AuthErrorCode =
  /** A request over TCP came without `Authorization: Bearer <token>`. */
  | 'TOKEN_MISSING'
  /** The token is malformed, unknown or revoked. */
  | 'TOKEN_INVALID'
  /** Too many invalid tokens from one address in the last minute. */
  | 'RATE_LIMITED'
  /** The caller's role does not grant what the request needs. */
  | 'FORBIDDEN'
  /** `herd token revoke` named no token. */
  | 'TOKEN_NOT_FOUND'
  /** A token name that is not a name (or reads as a token id). */
  | 'TOKEN_NAME_INVALID'
  /** A live token already has that name. */
  | 'TOKEN_NAME_TAKEN';

export class AuthError extends HerdError<AuthErrorCode> {}
