import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparePaths, displayName, entryLine, type FimEntry, parseEntryLine } from './fim-entry.js';
import { sampleFileEntry } from './fim-entry.test-support.js';

const entry: FimEntry = { ...sampleFileEntry };

describe('comparePaths', () => {
  it('puts a directory’s whole subtree before its next sibling, as the walk emits them', () => {
    const paths = ['/a-c', '/a/b', '/', '/a', '/ab', '/a/b/c', '/a.b'];

    const sorted = [...paths].sort(comparePaths);

    assert.deepEqual(sorted, ['/', '/a', '/a/b', '/a/b/c', '/a-c', '/a.b', '/ab']);
  });

  it('says two equal paths are equal', () => {
    assert.equal(comparePaths('/x/y', '/x/y'), 0);
  });
});

describe('displayName', () => {
  it('keeps a UTF-8 name as it is', () => {
    assert.equal(displayName(Buffer.from('café')), 'café');
  });

  it('spells bytes that are not UTF-8 as \\xNN and doubles backslashes, so spellings never collide', () => {
    assert.equal(displayName(Buffer.from([0x61, 0xff, 0x5c])), 'a\\xff\\\\');
    assert.equal(displayName(Buffer.from('a\\xff')), 'a\\\\xff');
  });
});

describe('entry lines', () => {
  it('round-trips an entry with its xattrs sorted by name', () => {
    const line = entryLine(entry);

    assert.ok(line.endsWith('\n'));
    assert.ok(line.indexOf('security.capability') < line.indexOf('user.b'));
    assert.deepEqual(parseEntryLine(line.trimEnd()), entry);
  });

  it('writes the same bytes for the same entry whatever the key order it was built in', () => {
    const shuffled = Object.fromEntries(Object.entries(entry).reverse()) as unknown as FimEntry;

    assert.equal(entryLine(shuffled), entryLine(entry));
  });

  it('spells every entry as baselines have always been spelled: JSON of the keys in their fixed order', () => {
    // The spelling of every baseline written so far, which a check compares lines with as text.
    const earlier = (e: FimEntry) => {
      const { path, type, mode, uid, gid, size, mtime, ctime, ino, sha256, unreadable, target, xattrs } = e;
      const sorted =
        xattrs && Object.fromEntries(Object.entries(xattrs).sort(([a], [b]) => (a < b ? -1 : 1)));
      return `${JSON.stringify({ path, type, mode, uid, gid, size, mtime, ctime, ino, sha256, unreadable, target, xattrs: sorted })}\n`;
    };
    const entries: FimEntry[] = [
      entry,
      { ...entry, sha256: undefined, unreadable: 'EACCES' },
      { ...entry, path: '/q"uote\\back\u0001ctl\u2028é', xattrs: { 'user.z': '', 'user.a': '00' } },
      { ...entry, type: 'symlink', sha256: undefined, xattrs: undefined, target: '../"t\u0000' },
      { ...entry, type: 'dir', sha256: undefined, xattrs: undefined, size: 4096, mode: 0o1777 },
    ];
    for (const e of entries) {
      for (const key of Object.keys(e) as (keyof FimEntry)[]) if (e[key] === undefined) delete e[key];
      assert.equal(entryLine(e), earlier(e));
    }
  });

  it('refuses a line that is not an entry', () => {
    assert.equal(parseEntryLine('{"path":"relative","type":"file"}'), undefined);
    assert.equal(parseEntryLine('{"path":"/x"'), undefined);
  });
});
