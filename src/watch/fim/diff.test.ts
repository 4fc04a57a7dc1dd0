import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedAttributes, mayReuseHash } from './diff.js';
import type { FimEntry } from './fim-entry.js';

const file: FimEntry = {
  path: '/etc/passwd',
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 100,
  mtime: '1000',
  ctime: '1000',
  ino: '7',
  sha256: '1'.repeat(64),
};

describe('changedAttributes', () => {
  it('finds nothing when only ctime and inode moved, which are validators, not findings', () => {
    assert.deepEqual(
      changedAttributes(file, { ...file, ctime: '2000', ino: '8' }, { compareXattrs: true }),
      [],
    );
  });

  it('names every attribute that differs, in report order', () => {
    const after = { ...file, mode: 0o4755, uid: 1, size: 101, sha256: '2'.repeat(64) };

    assert.deepEqual(changedAttributes(file, after, { compareXattrs: true }), [
      'mode',
      'uid',
      'size',
      'sha256',
    ]);
  });

  it('counts a file that could not be read as a changed hash, never as clean', () => {
    const { sha256: _, ...withoutHash } = file;

    assert.deepEqual(
      changedAttributes(file, { ...withoutHash, unreadable: 'EACCES' }, { compareXattrs: true }),
      ['sha256'],
    );
  });

  it('compares xattrs only when asked, and ignores their order', () => {
    const before = { ...file, xattrs: { 'user.a': '01', 'user.b': '02' } };
    const reordered = { ...file, xattrs: { 'user.b': '02', 'user.a': '01' } };
    const dropped = { ...file };

    assert.deepEqual(changedAttributes(before, reordered, { compareXattrs: true }), []);
    assert.deepEqual(changedAttributes(before, dropped, { compareXattrs: true }), ['xattrs']);
    assert.deepEqual(changedAttributes(before, dropped, { compareXattrs: false }), []);
  });

  it('reports a retargeted symlink by its target', () => {
    const link: FimEntry = { ...file, type: 'symlink', target: 'a' };
    const { sha256: _, ...linkWithoutHash } = link;

    assert.deepEqual(
      changedAttributes(linkWithoutHash, { ...linkWithoutHash, target: 'b' }, { compareXattrs: true }),
      ['target'],
    );
  });
});

describe('mayReuseHash', () => {
  it('reuses the hash when size, mtime, ctime and inode are all unchanged', () => {
    assert.equal(mayReuseHash(file, { ...file }), true);
  });

  it('hashes again when any of them moved: ctime moves on every write, even with mtime reset', () => {
    for (const moved of [{ size: 1 }, { mtime: '1' }, { ctime: '1001' }, { ino: '8' }]) {
      assert.equal(mayReuseHash(file, { ...file, ...moved }), false, JSON.stringify(moved));
    }
  });

  it('never reuses what was not a readable file', () => {
    const { sha256: _, ...unhashed } = file;

    assert.equal(mayReuseHash({ ...unhashed, unreadable: 'EIO' }, file), false);
    assert.equal(mayReuseHash({ ...file, type: 'symlink' }, file), false);
  });
});
