import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeDowngrade,
  downgradeError,
  findDowngrades,
  type RememberedReleaseDate,
} from './release-dates.js';

const mirror = 'http://mirror.example/debian/';
const june1 = new Date('2024-06-01T00:00:00Z');
const june2 = new Date('2024-06-02T00:00:00Z');
const june3 = new Date('2024-06-03T00:00:00Z');

function memory(fields: Partial<RememberedReleaseDate> = {}): RememberedReleaseDate {
  return { repository: mirror, suite: 'bookworm', date: june2, from: 'archive-dates.json', ...fields };
}

describe('findDowngrades', () => {
  it('finds nothing without a memory, for the same date, and for a newer one', () => {
    assert.deepEqual(findDowngrades([{ repository: mirror, suite: 'bookworm', date: june1 }], []), []);
    assert.deepEqual(
      findDowngrades([{ repository: mirror, suite: 'bookworm', date: june2 }], [memory()]),
      [],
    );
    assert.deepEqual(
      findDowngrades([{ repository: mirror, suite: 'bookworm', date: june3 }], [memory()]),
      [],
    );
  });

  it('finds a Release older than the newest date remembered for its suite', () => {
    const remembered = [
      memory({ date: june1 }),
      memory({ date: june3, from: 'herd.lock', repository: undefined }),
    ];

    const downgrades = findDowngrades([{ repository: mirror, suite: 'bookworm', date: june2 }], remembered);

    assert.equal(downgrades.length, 1);
    assert.equal(downgrades[0]?.remembered.from, 'herd.lock');
    assert.equal(downgrades[0]?.got?.toISOString(), june2.toISOString());
  });

  it("holds a lock's memory on any mirror, and HERD_HOME's on its own repository", () => {
    const other = 'http://other.example/debian/';
    const fromLock = memory({ repository: undefined, from: 'herd.lock' });

    assert.equal(
      findDowngrades([{ repository: other, suite: 'bookworm', date: june1 }], [fromLock]).length,
      1,
    );
    assert.equal(
      findDowngrades([{ repository: other, suite: 'bookworm', date: june1 }], [memory()]).length,
      0,
    );
    assert.equal(
      findDowngrades([{ repository: mirror, suite: 'bookworm-security', date: june1 }], [memory()]).length,
      0,
    );
  });

  it('counts a Release without a Date as a downgrade once a date is remembered', () => {
    const [downgrade] = findDowngrades([{ repository: mirror, suite: 'bookworm' }], [memory()]);

    assert.ok(downgrade);
    assert.match(describeDowngrade(downgrade), /serves a Release without a Date, older than 2024-06-02/);
  });

  it('names the repository, suite, both dates and where the memory is in the error', () => {
    const downgrades = findDowngrades([{ repository: mirror, suite: 'bookworm', date: june1 }], [memory()]);

    const error = downgradeError(downgrades);

    assert.equal(error.code, 'RELEASE_DOWNGRADE');
    assert.match(
      error.message,
      /http:\/\/mirror\.example\/debian\/ suite bookworm serves a Release dated 2024-06-01T00:00:00\.000Z, older than 2024-06-02T00:00:00\.000Z that herd accepted before \(archive-dates\.json\)/,
    );
    assert.match(error.message, /--allow-downgrade/);
  });
});
