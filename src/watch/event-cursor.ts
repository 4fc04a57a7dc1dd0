/**
 * Where the integrity monitor is in the engine's record of events (table `watch_event_cursor`,
 * migration 7): the cursor of the last event it handled. After a restart, even a kill -9, the
 * monitor asks the engine to replay from there, so an exec session opened while herd was down is
 * an incident all the same.
 */
import type { Database } from 'better-sqlite3';

/** What the engines' cursors look like: seconds since the epoch (with a fraction), or a position. */
const cursorPattern = /^\d{1,12}(?:\.\d{1,9})?$/;

export interface EventCursor {
  /** The last cursor written, or undefined (none yet, or a row that is not a cursor). */
  read(): string | undefined;
  write(cursor: string): void;
}

export class EventCursorStore implements EventCursor {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  read(): string | undefined {
    const row = this.db.prepare('SELECT cursor FROM watch_event_cursor WHERE singleton = 1').get() as
      | { cursor: string }
      | undefined;
    // Someone with the file could write anything there: what is not a cursor is no cursor.
    return row && cursorPattern.test(row.cursor) ? row.cursor : undefined;
  }

  write(cursor: string): void {
    if (!cursorPattern.test(cursor)) return;
    this.db
      .prepare(
        `INSERT INTO watch_event_cursor (singleton, cursor, at) VALUES (1, ?, ?)
         ON CONFLICT (singleton) DO UPDATE SET cursor = excluded.cursor, at = excluded.at`,
      )
      .run(cursor, new Date(this.now()).toISOString());
  }
}
