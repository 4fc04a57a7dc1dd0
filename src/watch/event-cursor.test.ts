import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStateDb } from '../state/open-state-db.js';
import { EventCursorStore } from './event-cursor.js';

describe('EventCursorStore', () => {
  it('has no cursor at first, then the last one written', () => {
    const store = new EventCursorStore(openStateDb(':memory:'));

    const before = store.read();
    store.write('1796291952.112224');
    store.write('1796291953.000001');

    assert.equal(before, undefined);
    assert.equal(store.read(), '1796291953.000001');
  });

  it('keeps a memory engine position as well', () => {
    const store = new EventCursorStore(openStateDb(':memory:'));

    store.write('42');

    assert.equal(store.read(), '42');
  });

  it('neither writes nor reads back what is not a cursor, such as a row someone put there', () => {
    const db = openStateDb(':memory:');
    const store = new EventCursorStore(db);

    store.write('now; DROP TABLE journal');
    const refused = store.read();
    db.prepare("INSERT INTO watch_event_cursor (singleton, cursor, at) VALUES (1, 'yesterday', 'x')").run();

    assert.equal(refused, undefined);
    assert.equal(store.read(), undefined);
  });
});
