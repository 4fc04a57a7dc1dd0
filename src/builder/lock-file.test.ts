import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BuildError } from './errors.js';
import { describeLockChange, diffLocks, type Lock, readLock, writeLock } from './lock-file.js';

const baseDigest = `sha256:${'1'.repeat(64)}`;

function lock(fields: Partial<Lock> = {}): Lock {
  return {
    lockVersion: 1,
    service: 'hello',
    specDigest: `sha256:${'b'.repeat(64)}`,
    date: '2024-06-01T00:00:00.000Z',
    suite: 'bookworm',
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

  it('reads an older lock whose suites have no Release date', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'herd-lock-')), 'herd.lock');
    const older = lock({ suites: [{ suite: 'bookworm', inRelease: 'c'.repeat(64), signer: 'ABCD' }] });

    await writeLock(path, older);

    assert.deepEqual(await readLock(path), older);
  });

  it('reads a lock a previous herd wrote, whose main suite is its release field, as that suite', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'herd-lock-')), 'herd.lock');
    const { suite, ...rest } = lock({ suite: 'trixie' });
    await writeFile(path, `${JSON.stringify({ ...rest, release: suite }, null, 2)}\n`);

    const read = await readLock(path);
    assert.deepEqual(read, lock({ suite: 'trixie' }));
    // In the same place: a new herd's lock of the same content has the same bytes.
    assert.deepEqual(Object.keys(read ?? {}), Object.keys(lock()));
  });

  it('refuses a lock with both the release and the suite field, since they may disagree', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'herd-lock-')), 'herd.lock');
    await writeFile(path, JSON.stringify({ ...lock(), release: 'trixie' }));

    await assert.rejects(readLock(path), (error: BuildError) => {
      assert.equal(error.code, 'LOCK_INVALID');
      assert.match(error.message, /release/);
      return true;
    });
  });

  it('refuses a lock whose names or dates an editor turned into something else, naming field and value', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'herd-lock-')), 'herd.lock');
    const edits: [(l: Lock) => void, RegExp][] = [
      [
        (l) => Object.assign(pkg(l), { name: '../../x' }),
        /packages\.0\.name: "\.\.\/\.\.\/x": expected a Debian package name/,
      ],
      [
        (l) => Object.assign(pkg(l), { version: '1.0/../../x' }),
        /packages\.0\.version: "1\.0\/\.\.\/\.\.\/x"/,
      ],
      [
        (l) => Object.assign(pkg(l), { architecture: '../amd64' }),
        /packages\.0\.architecture: "\.\.\/amd64"/,
      ],
      [(l) => Object.assign(pkg(l), { source: '/etc' }), /packages\.0\.source: "\/etc"/],
      [
        (l) => Object.assign(pkg(l), { filename: 'pool/%2e%2e/x.deb' }),
        /packages\.0\.filename: "pool\/%2e%2e\/x\.deb"/,
      ],
      [(l) => Object.assign(l, { architecture: 'amd64/..' }), /architecture: "amd64\/\.\."/],
      [(l) => Object.assign(l.suites[0] ?? {}, { date: 'yesterday' }), /suites\.0\.date/],
    ];

    for (const [edit, why] of edits) {
      const edited = lockWithPackage();
      edit(edited);
      await writeFile(path, JSON.stringify(edited));

      await assert.rejects(readLock(path), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'LOCK_INVALID');
        assert.match(error.message ?? '', why);
        return true;
      });
    }
  });

  it('words a version the archive took back as older than the lock, never as an update', () => {
    const before = lockWithPackage();
    const after = lockWithPackage();
    Object.assign(pkg(after), { version: '2.36-9', sha256: 'e'.repeat(64) });

    const changes = diffLocks(before, after);

    assert.deepEqual(changes.map(describeLockChange), [
      '< libc6 2.36-9+deb12u4 -> 2.36-9 (bookworm-security): older than the lock',
    ]);
    assert.equal(changes[0]?.kind, 'downgraded');
  });
});

function lockWithPackage(): Lock {
  return lock({
    suites: [
      {
        suite: 'bookworm-security',
        date: '2024-06-01T00:00:00.000Z',
        inRelease: 'c'.repeat(64),
        signer: 'AB',
      },
    ],
    packages: [
      {
        name: 'libc6',
        version: '2.36-9+deb12u4',
        architecture: 'amd64',
        source: 'glibc',
        sourceVersion: '2.36-9+deb12u4',
        suite: 'bookworm-security',
        filename: 'pool/updates/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb',
        size: 1,
        sha256: 'd'.repeat(64),
        reason: 'requested',
      },
    ],
  });
}

function pkg(l: Lock): Lock['packages'][number] {
  const first = l.packages[0];
  if (!first) throw new Error('the lock has no package');
  return first;
}
