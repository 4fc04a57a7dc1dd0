/** Opens herd's state (journal and catalog) in HERD_HOME for one command. */
import { Catalog } from '../catalog/catalog.js';
import { herdHome } from '../herd-home.js';
import { resolveActor } from '../journal/actor.js';
import { systemClock } from '../journal/clock.js';
import { Journal } from '../journal/journal.js';
import { openStateDb } from '../state/open-state-db.js';

export interface StateContext {
  journal: Journal;
  catalog: Catalog;
  actor: string;
  close(): void;
}

export function openState(): StateContext {
  const db = openStateDb(herdHome().stateDb);
  const journal = new Journal(db, { clock: systemClock });
  return { journal, catalog: new Catalog(journal), actor: resolveActor(), close: () => db.close() };
}
