import { HerdError } from '../herd-error.js';

export type BuildErrorCode =
  | 'LOCK_INVALID'
  | 'LOCK_MISSING'
  | 'LOCK_STALE'
  | 'APP_FILE_MISSING'
  | 'PATH_CONFLICT'
  | 'DEB_MISMATCH'
  | 'SOURCE_DATE_EPOCH_INVALID'
  | 'KEY_PASSWORD_MISSING';

export class BuildError extends HerdError<BuildErrorCode> {}
