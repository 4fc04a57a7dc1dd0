import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stateMigrations } from '../state/migrations.js';
import { openStateDb } from '../state/open-state-db.js';
import { digestA, digestB, template } from './controller.test-support.js';
import { FleetStore } from './fleet-store.js';

/** The last migration before fleets and their history called the short digest a revision. */
const beforeRevision = stateMigrations.findIndex((one) => one.name.includes('revision'));

function columns(db: ReturnType<typeof openStateDb>, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).map((one) => one.name);
}

describe('FleetStore over a herd.db written before the revision rename', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-fleet-store-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the migration that renames the columns after every one a previous herd shipped', () => {
    assert.ok(beforeRevision > 0, 'no migration renames the fleet columns to revision');
    assert.equal(stateMigrations[beforeRevision]?.area, 'fleet');
  });

  it('reads the fleet and its history as revisions once the old release columns are migrated', () => {
    const path = join(dir, 'herd.db');
    const old = openStateDb(path, { migrations: stateMigrations.slice(0, beforeRevision) });
    assert.ok(columns(old, 'fleets').includes('release'));
    const spec = JSON.stringify(template({ size: 2 }));
    old
      .prepare(
        `INSERT INTO fleets (service, release, digest, size, spec_json, status, updated_at)
         VALUES ('web', 'bbbbbbbb', ?, 2, ?, 'complete', '2026-01-02T00:00:00.000Z')`,
      )
      .run(digestB, spec);
    const history = old.prepare(
      `INSERT INTO fleet_history (service, seq, release, digest, outcome, reason, spec_json, at)
       VALUES ('web', ?, ?, ?, ?, 'rollout', ?, '2026-01-01T00:00:00.000Z')`,
    );
    history.run(1, 'aaaaaaaa', digestA, 'started', spec);
    history.run(2, 'aaaaaaaa', digestA, 'complete', spec);
    history.run(3, 'bbbbbbbb', digestB, 'started', spec);
    history.run(4, 'bbbbbbbb', digestB, 'complete', spec);
    old.close();

    const db = openStateDb(path);
    const store = new FleetStore(db);

    assert.equal(db.pragma('user_version', { simple: true }), stateMigrations.length);
    for (const table of ['fleets', 'fleet_history']) {
      assert.ok(columns(db, table).includes('revision'), `${table} has a revision column`);
      assert.ok(!columns(db, table).includes('release'), `${table} has no release column left`);
    }
    assert.equal(store.get('web')?.revision, 'bbbbbbbb');
    assert.equal(store.get('web')?.digest, digestB);
    assert.deepEqual(
      store.history('web').map((one) => `${one.seq} ${one.revision} ${one.outcome}`),
      ['1 aaaaaaaa started', '2 aaaaaaaa complete', '3 bbbbbbbb started', '4 bbbbbbbb complete'],
    );
    assert.equal(store.lastGood('web', 'bbbbbbbb')?.revision, 'aaaaaaaa');
    assert.deepEqual([...store.knownRevisions('web')].sort(), ['aaaaaaaa', 'bbbbbbbb']);
    db.close();
  });
});

describe('FleetStore history for rollbacks and blue-green switches', () => {
  const at = Date.parse('2026-01-01T00:00:00.000Z');
  const entry = (revision: string, outcome: 'started' | 'complete' | 'failed', reason: string) => ({
    revision,
    digest: revision === 'r1' ? digestA : digestB,
    outcome,
    reason,
    template: template(),
  });

  it('never names as last good a revision that failed after it completed (a bake that reverted)', () => {
    const store = new FleetStore(openStateDb(':memory:'));
    const fleet = { service: 'web', revision: 'r1', digest: digestA, size: 4, template: template() };

    store.save(
      { ...fleet, status: 'complete' },
      {
        now: at,
        history: [entry('r1', 'started', 'rollout'), entry('r1', 'complete', 'rollout')],
      },
    );
    store.save(
      { ...fleet, revision: 'r2', digest: digestB, status: 'complete' },
      {
        now: at + 1000,
        history: [entry('r2', 'started', 'rollout'), entry('r2', 'complete', 'rollout')],
      },
    );
    const beforeFailure = store.lastGood('web', 'r3')?.revision;
    store.save(
      { ...fleet, status: 'reverting' },
      {
        now: at + 2000,
        history: [entry('r2', 'failed', 'health'), entry('r1', 'started', 'revert')],
      },
    );
    store.save(
      { ...fleet, status: 'complete' },
      { now: at + 3000, history: [entry('r1', 'complete', 'rollout')] },
    );

    assert.equal(beforeFailure, 'r2');
    assert.equal(store.lastGood('web', 'r1'), undefined);
    assert.deepEqual(store.lastComplete('web'), { revision: 'r1', at: at + 3000, startedBy: 'revert' });
  });
});
