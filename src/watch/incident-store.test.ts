import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stateMigrations } from '../state/migrations.js';
import { openStateDb } from '../state/open-state-db.js';
import { IncidentStore } from './incident-store.js';

const digest = `sha256:${'d'.repeat(64)}`;

describe('IncidentStore', () => {
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-incidents-'));
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('keeps the incidents of a herd.db from before process incidents, and takes process incidents after', () => {
    const path = join(work, 'upgraded.db');
    const processMigration = stateMigrations.findIndex((one) =>
      one.name.includes('process off the allowlist'),
    );
    const older = openStateDb(path, { migrations: stateMigrations.slice(0, processMigration) });
    new IncidentStore(older).open({
      service: 'web',
      instance: 'abc',
      digest,
      kind: 'drift',
      detectedAt: '2026-01-01T00:00:00.000Z',
      summary: 'fast path: /tmp/x (executable in writable /tmp)',
      quarantine: 'out-of-door',
    });
    assert.throws(() =>
      older
        .prepare(
          "INSERT INTO incidents (service, instance, digest, kind, detected_at, summary) VALUES ('web', 'x', 'd', 'process', 'now', 's')",
        )
        .run(),
    );
    older.close();

    const db = openStateDb(path);
    const incidents = new IncidentStore(db);
    const opened = incidents.open({
      service: 'web',
      instance: 'abc',
      digest,
      kind: 'process',
      detectedAt: '2026-01-01T00:00:01.000Z',
      summary: 'process /usr/bin/sleep (pid 23, not the image’s entrypoint or init)',
    });
    const again = incidents.open({
      service: 'web',
      instance: 'abc',
      digest,
      kind: 'process',
      detectedAt: '2026-01-01T00:00:02.000Z',
      summary: 'again',
    });
    incidents.replaced('abc', '2026-01-01T00:00:05.000Z');

    assert.ok(opened);
    assert.equal(again, undefined, 'one per instance and kind, as before');
    assert.deepEqual(
      incidents.list().map((one) => [one.kind, one.quarantine, one.replacedAt]),
      [
        ['process', undefined, '2026-01-01T00:00:05.000Z'],
        ['drift', 'out-of-door', '2026-01-01T00:00:05.000Z'],
      ],
    );
    assert.throws(
      () => db.prepare("UPDATE incidents SET replaced_at = 'later' WHERE kind = 'drift'").run(),
      /incidents are history/,
    );
    db.close();
  });
});
