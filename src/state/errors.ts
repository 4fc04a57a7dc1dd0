import { HerdError } from '../herd-error.js';

/** Every failure src/state raises on purpose. Tests assert these codes, not the messages. */
export type StateErrorCode =
  | 'SCHEMA_TOO_NEW'
  | 'MIGRATION_FAILED'
  | 'MIGRATIONS_INVALID'
  /** A table the migrations made is gone or has other columns. */
  | 'SCHEMA_DAMAGED'
  /** SQLite finds pages it cannot read (garbage written into the file). */
  | 'DATABASE_DAMAGED'
  /** Not a SQLite file at all, or one that cannot be opened. */
  | 'DATABASE_UNREADABLE';

export class StateError extends HerdError<StateErrorCode> {}
