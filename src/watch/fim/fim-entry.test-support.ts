/** An entry with every kind of field a regular file can record, for the tests of its line. */
import type { FimEntry } from './fim-entry.js';

export const sampleFileEntry: Readonly<FimEntry> = Object.freeze({
  path: '/bin/ls',
  type: 'file',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 10,
  mtime: '1700000000123456789',
  ctime: '1700000000123456789',
  ino: '42',
  sha256: 'a'.repeat(64),
  xattrs: { 'user.b': '01', 'security.capability': 'ff' },
});
