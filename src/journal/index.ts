/** What other folders use of src/journal/ (docs/architecture.md, "Public entries"). */
export { resolveActor } from './actor.js';
export { formatVerifyResult, hashEntry, type JournalHead, type JournalRow, parseDetails } from './chain.js';
export { Journal } from './journal.js';
export type { JournalAction, JournalEntry } from './types.js';
