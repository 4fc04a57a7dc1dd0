import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import type { Clock } from '../common/index.js';
import { openStateDb } from '../state/open-state-db.js';
import type { JournalError } from './errors.js';
import { Journal } from './journal.js';

/** Starts at 2025-01-01T00:00:00Z and moves one second per reading. */
function fakeClock(): Pick<Clock, 'now'> {
  let tick = 0;
  return { now: () => Date.UTC(2025, 0, 1) + 1000 * tick++ };
}

describe('Journal', () => {
  let dir: string;
  let count = 0;
  const opened: Database[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-journal-'));
  });
  after(async () => {
    for (const db of opened) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function freshJournal(): { journal: Journal; db: Database; path: string } {
    count += 1;
    const path = join(dir, `herd-${count}.db`);
    const db = openStateDb(path);
    opened.push(db);
    return { journal: new Journal(db, { clock: fakeClock() }), db, path };
  }

  function appendFive(journal: Journal): void {
    for (let step = 1; step <= 5; step += 1) {
      journal.append({ actor: 'ci', action: 'build', service: step % 2 ? 'web' : 'db', details: { step } });
    }
  }

  it('links each entry to the previous hash, starting from 64 zeros', () => {
    const { journal } = freshJournal();

    const first = journal.append({ actor: 'alice', action: 'build', service: 'web', details: { lock: 'x' } });
    const second = journal.append({ actor: 'alice', action: 'sign', digest: `sha256:${'a'.repeat(64)}` });

    assert.equal(first.id, 1);
    assert.equal(first.prevHash, '0'.repeat(64));
    assert.equal(first.at, '2025-01-01T00:00:00.000Z');
    assert.equal(second.id, 2);
    assert.equal(second.prevHash, first.hash);
    assert.deepEqual(second.details, {});
    assert.deepEqual(journal.verify(), { ok: true, count: 2 });
  });

  it('lists what it appended, filtered by service, time and limit', () => {
    const { journal } = freshJournal();
    appendFive(journal);

    const all = journal.list();
    const web = journal.list({ service: 'web' });
    const recent = journal.list({ since: new Date('2025-01-01T00:00:03Z') });
    const lastTwo = journal.list({ limit: 2 });

    assert.deepEqual(
      all.map((entry) => entry.id),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      web.map((entry) => entry.id),
      [1, 3, 5],
    );
    assert.deepEqual(
      recent.map((entry) => entry.id),
      [4, 5],
    );
    assert.deepEqual(
      lastTwo.map((entry) => entry.id),
      [4, 5],
    );
    assert.equal(all[0]?.service, 'web');
    assert.equal('digest' in all[0]!, false);
  });

  it('refuses an update or a delete through SQL', () => {
    const { journal, db } = freshJournal();
    appendFive(journal);

    assert.throws(() => db.prepare("UPDATE journal SET actor = 'eve' WHERE id = 2").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM journal WHERE id = 5').run(), /append-only/);
    assert.throws(() => db.prepare('UPDATE journal_head SET last_id = 3').run(), /forward/);
  });

  it('names a row edited after its trigger was dropped', () => {
    const { journal, db } = freshJournal();
    appendFive(journal);

    db.exec(`DROP TRIGGER journal_no_update; UPDATE journal SET details = '{"step":30}' WHERE id = 3;`);

    assert.deepEqual(journal.verify(), { ok: false, entryId: 3, reason: 'hash mismatch (row edited)' });
  });

  it('names the entry after a deleted middle row', () => {
    const { journal, db } = freshJournal();
    appendFive(journal);

    db.exec('DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE id = 3;');

    assert.deepEqual(journal.verify(), { ok: false, entryId: 4, reason: 'entry 3 is missing (row deleted)' });
  });

  it('reports a deleted tail, and keeps reporting it after the next append', () => {
    const { journal, db } = freshJournal();
    appendFive(journal);

    db.exec('DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE id >= 4;');
    const afterDelete = journal.verify();
    const next = journal.append({ actor: 'ci', action: 'build' });

    assert.deepEqual(afterDelete, {
      ok: false,
      entryId: 4,
      reason: 'entries after 3 were deleted (the head records 5)',
    });
    assert.equal(next.id, 6);
    assert.deepEqual(journal.verify(), {
      ok: false,
      entryId: 6,
      reason: 'entries 4 to 5 are missing (rows deleted)',
    });
  });

  it('refuses an event without an actor and leaves nothing behind', () => {
    const { journal } = freshJournal();

    assert.throws(
      () => journal.append({ actor: ' ', action: 'build' }),
      (error: JournalError) => error.code === 'ACTOR_MISSING',
    );
    assert.deepEqual(journal.verify(), { ok: true, count: 0 });
  });

  it('refuses details that are not plain json and leaves nothing behind', () => {
    const { journal } = freshJournal();

    assert.throws(
      () => journal.append({ actor: 'ci', action: 'build', details: { n: Number.NaN } }),
      (error: JournalError) => error.code === 'DETAILS_INVALID',
    );
    assert.equal(journal.list().length, 0);
  });

  it('names where details stop being plain json (a Date, a bigint, a circular reference)', () => {
    const { journal } = freshJournal();
    const looped: Record<string, unknown> = {};
    looped.self = looped;

    for (const [details, at] of [
      [{ when: new Date(0) }, 'got Date at $.when'],
      [{ list: [1, 2n] }, 'got bigint at $.list[1]'],
      [{ looped }, 'got a circular reference at $.looped.self'],
    ] as const) {
      assert.throws(
        () => journal.append({ actor: 'ci', action: 'build', details: details as never }),
        (error: JournalError) => error.code === 'DETAILS_INVALID' && error.message.endsWith(at),
      );
    }
    assert.equal(journal.list().length, 0);
  });

  it('keeps one chain when two processes append at the same time', async () => {
    const { journal, path } = freshJournal();
    const journalModule = new URL('./journal.ts', import.meta.url).href;
    const stateModule = new URL('../state/open-state-db.ts', import.meta.url).href;
    // Each child opens the db, says ready, and appends only once the parent says go, so the two
    // really overlap instead of running one after the other behind tsx's start-up time.
    const script = `
      const { Journal } = await import(${JSON.stringify(journalModule)});
      const { openStateDb } = await import(${JSON.stringify(stateModule)});
      const journal = new Journal(openStateDb(process.argv[1]), { clock: { now: () => Date.now() } });
      process.stdout.write('ready\\n');
      await new Promise((go) => process.stdin.once('data', go));
      for (let i = 0; i < 100; i++) {
        journal.append({ actor: process.argv[2], action: 'build', details: { i } });
        // SQLite's lock is not fair: without a pause one tight loop would keep it to the end.
        await new Promise((pause) => setTimeout(pause, 1));
      }
      process.exit(0);
    `;
    const children = ['one', 'two'].map((actor) =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path, actor], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    await Promise.all(children.map((child) => once(child.stdout, 'data')));
    const exits = children.map((child) => once(child, 'exit'));
    for (const child of children) child.stdin.write('go\n');

    const codes = (await Promise.all(exits)).map(([code]) => code);

    assert.deepEqual(codes, [0, 0]);
    assert.deepEqual(journal.verify(), { ok: true, count: 200 });
    const actors = journal.list().map((entry) => entry.actor);
    const switches = actors.filter((actor, index) => index > 0 && actor !== actors[index - 1]).length;
    assert.ok(switches > 1, `the appenders did not overlap (${switches} switch), so this proves nothing`);
  });
});
