import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileManifestEntry } from '../../oci/index.js';
import { compareListing } from './compare-listing.js';
import type { ProbeEntry } from './probe-listing.js';

const dir = (path: string, mode = 0o755): FileManifestEntry => ({
  path,
  type: 'dir',
  mode,
  uid: 0,
  gid: 0,
  size: 0,
});
const file = (path: string, sha256: string, size = 1): FileManifestEntry => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size,
  sha256,
});
const seen = (entry: FileManifestEntry, extra: Partial<ProbeEntry> = {}): ProbeEntry => {
  const { path, type, mode, uid, gid, size, sha256, target } = entry;
  return {
    path,
    type,
    mode,
    uid,
    gid,
    ...(type === 'file' ? { size, sha256 } : {}),
    ...(target ? { target } : {}),
    ...extra,
  };
};

describe('compareListing', () => {
  const image = [
    dir('/'),
    dir('/etc'),
    file('/etc/app.conf', 'a'.repeat(64)),
    dir('/root', 0o700),
    file('/root/.profile', 'b'.repeat(64)),
    file('/etc/shadow', 'c'.repeat(64), 7),
    dir('/data'),
    file('/data/seed', 'd'.repeat(64)),
  ];

  it('reports nothing under a directory the probe could not read, and compares an unreadable file by size', () => {
    const listing = [
      seen(image[0]!, { mode: 0o700, uid: 1 }),
      seen(image[1]!),
      seen(image[2]!),
      { ...seen(image[3]!), unreadable: true as const },
      {
        path: '/etc/shadow',
        type: 'file' as const,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 7,
        unreadable: true as const,
      },
      seen(image[6]!),
    ];

    assert.deepEqual(compareListing(image, listing, { skipped: ['/data'] }), []);
  });

  it('says modified for another type or a grown unreadable file, deleted for a file gone, added for a new one', () => {
    const listing = [
      seen(image[1]!),
      { path: '/etc/app.conf', type: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, target: '/tmp/x' },
      seen(image[3]!),
      {
        path: '/etc/shadow',
        type: 'file' as const,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 8,
        unreadable: true as const,
      },
      {
        path: '/etc/ld.so.preload',
        type: 'file' as const,
        mode: 0o644,
        uid: 65532,
        gid: 65532,
        size: 3,
        sha256: 'e'.repeat(64),
      },
    ];

    assert.deepEqual(compareListing(image, listing, { skipped: ['/data'] }), [
      { path: '/etc/app.conf', kind: 'modified' },
      { path: '/etc/ld.so.preload', kind: 'added' },
      { path: '/etc/shadow', kind: 'modified' },
      { path: '/root/.profile', kind: 'deleted' },
    ]);
  });
});
