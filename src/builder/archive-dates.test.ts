import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ArchiveDates, rememberedFromLock } from './archive-dates.js';
import type { Lock } from './lock-file.js';

const mirror = 'http://mirror.example/debian/';
const june1 = new Date('2024-06-01T00:00:00Z');
const june2 = new Date('2024-06-02T00:00:00Z');

async function freshFile(): Promise<ArchiveDates> {
  return new ArchiveDates(join(await mkdtemp(join(tmpdir(), 'herd-dates-')), 'home', 'archive-dates.json'));
}

describe('HERD_HOME archive dates', () => {
  it('remembers nothing before the first record', async () => {
    const dates = await freshFile();

    assert.deepEqual(await dates.read(), []);
  });

  it('remembers the newest date per repository and suite, never moving one back', async () => {
    const dates = await freshFile();

    await dates.record([{ repository: mirror, suite: 'bookworm', date: june2 }]);
    await dates.record([
      { repository: mirror, suite: 'bookworm', date: june1 },
      { repository: mirror, suite: 'bookworm-security', date: june1 },
    ]);

    const remembered = await dates.read();
    assert.deepEqual(
      remembered.map((r) => [r.repository, r.suite, r.date.toISOString(), r.from]),
      [
        [mirror, 'bookworm', june2.toISOString(), dates.path],
        [mirror, 'bookworm-security', june1.toISOString(), dates.path],
      ],
    );
  });

  it('writes the file with mode 0600 and leaves no temporary or lock file behind', async () => {
    const dates = await freshFile();

    await dates.record([{ repository: mirror, suite: 'bookworm', date: june1 }]);

    assert.equal((await stat(dates.path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dates.path, '..')), ['archive-dates.json']);
  });

  it('loses no date when two processes record at once', async () => {
    const dates = await freshFile();
    const suites = Array.from({ length: 8 }, (_, i) => `suite-${i}`);

    await Promise.all(
      suites.map((suite) =>
        new ArchiveDates(dates.path).record([{ repository: mirror, suite, date: june1 }]),
      ),
    );

    assert.deepEqual((await dates.read()).map((r) => r.suite).sort(), suites);
  });

  it('refuses a damaged file with ARCHIVE_DATES_INVALID instead of forgetting what it held', async () => {
    const dates = await freshFile();
    await dates.record([{ repository: mirror, suite: 'bookworm', date: june1 }]);

    for (const text of [
      '{not json',
      '{"version":1,"releases":[{"repository":"x","suite":"y","date":"soon"}]}',
    ]) {
      await writeFile(dates.path, text);

      await assert.rejects(dates.read(), { code: 'ARCHIVE_DATES_INVALID', message: /archive-dates\.json/ });
      await assert.rejects(dates.record([{ repository: mirror, suite: 'bookworm', date: june2 }]), {
        code: 'ARCHIVE_DATES_INVALID',
      });
      assert.equal(await readFile(dates.path, 'utf8'), text);
    }
  });
});

describe('rememberedFromLock', () => {
  it("takes each suite's date from the lock, for any mirror, and skips suites of older locks without one", () => {
    const lock = {
      suites: [
        { suite: 'bookworm', date: june2.toISOString(), inRelease: 'a'.repeat(64), signer: 'k' },
        { suite: 'bookworm-security', inRelease: 'b'.repeat(64), signer: 'k' },
      ],
    } as Lock;

    const remembered = rememberedFromLock(lock, { lockPath: '/srv/app/herd.lock' });

    assert.deepEqual(remembered, [{ suite: 'bookworm', date: june2, from: '/srv/app/herd.lock' }]);
  });
});
