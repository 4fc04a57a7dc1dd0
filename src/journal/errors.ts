import { HerdError } from '../herd-error.js';

/** Every failure src/journal raises on purpose. Tests assert these codes, not the messages. */
export type JournalErrorCode = 'DETAILS_INVALID' | 'ACTOR_MISSING';

export class JournalError extends HerdError<JournalErrorCode> {}
