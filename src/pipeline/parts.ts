/**
 * The parts a use case is handed instead of reaching for them: herd's state (journal, catalog,
 * who acts), a logger. The CLI opens them for one command; a test hands in temporary ones.
 */
import type { Catalog } from '../catalog/index.js';
import type { Logger } from '../common/index.js';
import type { Journal } from '../journal/index.js';

/** herd.db as a use case writes to it: the journal it appends to, the catalog, and who is acting. */
export interface PipelineState {
  journal: Journal;
  catalog: Catalog;
  /** What the journal records as the actor (HERD_ACTOR or the OS user, resolved by the caller). */
  actor: string;
}

/** The logger a use case warns through (and the registry client it calls logs through). */
export type PipelineLogger = Pick<Logger, 'debug' | 'warn'>;
