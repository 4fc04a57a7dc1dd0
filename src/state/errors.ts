import { HerdError } from '../herd-error.js';

/** Every failure src/state raises on purpose. Tests assert these codes, not the messages. */
export type StateErrorCode = 'SCHEMA_TOO_NEW' | 'MIGRATION_FAILED' | 'MIGRATIONS_INVALID';

export class StateError extends HerdError<StateErrorCode> {}
