import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropEmptyFolders, earlyCandidates } from './early-layers.js';
import { ImageTree, type TreeNode } from './image-tree.js';

const dir = (path: string, owner: string): TreeNode => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  owner,
});
const file = (path: string, owner: string): TreeNode => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  owner,
  data: Buffer.from(path),
});

describe('earlyCandidates', () => {
  it('takes the largest .debs, as many as may have a layer of their own, none too small to', () => {
    const mib = 1024 * 1024;
    const packages = [
      { name: 'tiny', size: 10_000 },
      { name: 'libnode', size: 12 * mib },
      { name: 'libicu', size: 9 * mib },
      { name: 'nodejs', size: 3 * mib },
      { name: 'libc6', size: 3 * mib },
    ];

    assert.deepEqual(earlyCandidates(packages, 3, 4 * mib), ['libnode', 'libicu', 'libc6']);
    assert.deepEqual(earlyCandidates(packages, 5, 4 * mib), ['libnode', 'libicu', 'libc6', 'nodejs']);
    assert.deepEqual(earlyCandidates(packages, 0, 4 * mib), []);
  });
});

describe('dropEmptyFolders', () => {
  it("removes the owner's folders that hold none of its files, keeps the ancestors of those that do", () => {
    const tree = new ImageTree();
    for (const node of [
      dir('usr', 'pkg'),
      dir('usr/lib', 'pkg'),
      file('usr/lib/libx.so', 'pkg'),
      dir('usr/share', 'pkg'),
      dir('usr/share/lintian', 'pkg'),
      dir('usr/share/lintian/overrides', 'pkg'),
      dir('etc', 'herd'),
      dir('etc/empty', 'herd'),
    ]) {
      tree.add(node);
    }

    dropEmptyFolders(tree, 'pkg');

    assert.deepEqual(
      tree.sorted().map((n) => n.path),
      ['etc', 'etc/empty', 'usr', 'usr/lib', 'usr/lib/libx.so'],
    );
  });
});
