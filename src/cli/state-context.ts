/** Opens herd's state (journal and catalog) in HERD_HOME for one command. */
import { Catalog } from '../catalog/index.js';
import { systemClock } from '../common/index.js';
import { herdHome } from '../herd-home.js';
import { Journal, resolveActor } from '../journal/index.js';
import { openStateDb } from '../state/index.js';
import { markJournaled } from './journaled-flag.js';

export interface StateContext {
  journal: Journal;
  catalog: Catalog;
  actor: string;
  close(): void;
}

export function openState(): StateContext {
  const db = openStateDb(herdHome().stateDb);
  const journal = new Journal(db, { clock: systemClock });
  const headAtOpen = journal.head()?.lastId;
  const close = () => {
    try {
      if (journal.head()?.lastId !== headAtOpen) markJournaled();
    } catch {
      // A head that cannot be read is the command's own error to report, not close's.
    } finally {
      db.close();
    }
  };
  return { journal, catalog: new Catalog(journal), actor: resolveActor(), close };
}
