import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import { openStateDb } from '../state/open-state-db.js';
import { firstVisible, VisibleVersions } from './update-visibility.js';

describe('VisibleVersions', () => {
  let dir: string;
  let db: Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-visible-'));
    db = openStateDb(join(dir, 'herd.db'));
  });

  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const tinyBin = { service: 'tiny', name: 'tiny-bin', version: '1.1' };

  it('records the Release date on first sight and keeps it when later Releases carry the version', () => {
    const versions = new VisibleVersions(db);

    const first = versions.visibleAt(tinyBin, {
      releaseDate: '2026-03-01T06:00:00.000Z',
      now: '2026-03-01T06:05:00.000Z',
    });
    const later = versions.visibleAt(tinyBin, {
      releaseDate: '2026-03-02T06:00:00.000Z',
      now: '2026-03-02T06:05:00.000Z',
    });

    assert.equal(first, '2026-03-01T06:00:00.000Z');
    assert.equal(later, first);
    assert.deepEqual(db.prepare('SELECT * FROM pipeline_visible').all(), [
      {
        service: 'tiny',
        package: 'tiny-bin',
        version: '1.1',
        visible_at: '2026-03-01T06:00:00.000Z',
        first_seen_at: '2026-03-01T06:05:00.000Z',
      },
    ]);
  });

  it('never moves the moment, even for an older Release re-signed by a mirror', () => {
    const versions = new VisibleVersions(db);
    versions.visibleAt(tinyBin, { releaseDate: '2026-03-01T06:00:00.000Z', now: '2026-03-01T06:05:00.000Z' });

    const replayed = versions.visibleAt(tinyBin, {
      releaseDate: '2026-02-01T00:00:00.000Z',
      now: '2026-03-03T00:00:00.000Z',
    });

    assert.equal(replayed, '2026-03-01T06:00:00.000Z');
  });

  it('survives reopening herd.db, and keeps services and versions apart', () => {
    new VisibleVersions(db).visibleAt(tinyBin, {
      releaseDate: '2026-03-01T06:00:00.000Z',
      now: '2026-03-01T06:05:00.000Z',
    });
    db.close();
    db = openStateDb(join(dir, 'herd.db'));
    const versions = new VisibleVersions(db);

    assert.equal(versions.lookup(tinyBin), '2026-03-01T06:00:00.000Z');
    assert.equal(versions.lookup({ ...tinyBin, service: 'other' }), undefined);
    assert.equal(versions.lookup({ ...tinyBin, version: '1.2' }), undefined);
  });

  it('takes now for a Release with no date, and for one dated after now', () => {
    const versions = new VisibleVersions(db);
    const now = '2026-03-01T06:05:00.000Z';

    const undated = versions.visibleAt(tinyBin, { now });
    const future = versions.visibleAt(
      { ...tinyBin, version: '1.2' },
      { releaseDate: '2027-01-01T00:00:00Z', now },
    );

    assert.equal(undated, now);
    assert.equal(future, now);
    assert.equal(firstVisible('not a date', now), now);
    assert.equal(firstVisible('2026-03-01T06:00:00Z', now), '2026-03-01T06:00:00.000Z');
  });
});
