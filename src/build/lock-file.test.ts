import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeLockChange, diffLocks, type Lock, readLock, writeLock } from './lock-file.js';

const baseDigest = `sha256:${'1'.repeat(64)}`;

function lock(fields: Partial<Lock> = {}): Lock {
  return {
    lockVersion: 1,
    service: 'hello',
    specDigest: `sha256:${'b'.repeat(64)}`,
    date: '2024-06-01T00:00:00.000Z',
    release: 'bookworm',
    architecture: 'amd64',
    suites: [],
    files: [],
    packages: [],
    ...fields,
  };
}

describe('the lock file', () => {
  it('reads back a lock that pins a base, with its held packages', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'herd-lock-')), 'herd.lock');
    const written = lock({
      base: {
        ref: 'base@production',
        digest: baseDigest,
        packages: 12,
        held: [{ name: 'libc6', version: '2.36-9', available: '2.36-9+deb12u4', suite: 'bookworm-security' }],
      },
    });

    await writeLock(path, written);

    assert.deepEqual(await readLock(path), written);
  });

  it('says when the base moved to another digest', () => {
    const before = lock({ base: { ref: 'base@production', digest: baseDigest, packages: 1, held: [] } });
    const after = lock({
      base: { ref: 'base@production', digest: `sha256:${'2'.repeat(64)}`, packages: 1, held: [] },
    });

    const changes = diffLocks(before, after);

    assert.deepEqual(changes.map(describeLockChange), [
      `~ base base@production ${baseDigest} -> sha256:${'2'.repeat(64)}`,
    ]);
    assert.deepEqual(diffLocks(before, before), []);
  });
});
