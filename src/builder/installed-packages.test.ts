import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownerBase, type TreeNode } from './image-tree.js';
import { installedPackagesOf } from './installed-packages.js';

function filesOf(entries: Record<string, string>): Map<string, TreeNode> {
  return new Map(
    Object.entries(entries).map(([path, text]) => [
      path,
      { path, type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from(text), owner: ownerBase },
    ]),
  );
}

describe('installedPackagesOf', () => {
  it('reads status.d stanzas, leaving out md5sums, with their source and relations', () => {
    const files = filesOf({
      'var/lib/dpkg/status.d/libc6':
        'Package: libc6\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nDepends: libgcc-s1\nDescription: GNU C Library\n shared libraries\n',
      'var/lib/dpkg/status.d/libc6.md5sums': '0123456789abcdef0123456789abcdef  usr/lib/libc.so.6\n',
      'var/lib/dpkg/status.d/tzdata': 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n',
    });

    const packages = installedPackagesOf(files);

    assert.deepEqual(
      packages.map((p) => [p.name, p.version, p.architecture, p.source, p.sourceVersion, p.depends]),
      [
        ['libc6', '2.36-9+deb12u4', 'amd64', 'glibc', '2.36-9', 'libgcc-s1'],
        ['tzdata', '2024a-0+deb12u1', 'all', 'tzdata', '2024a-0+deb12u1', ''],
      ],
    );
  });

  it('reads a dpkg status file, leaving out packages that are not installed', () => {
    const files = filesOf({
      'var/lib/dpkg/status':
        'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n\n' +
        'Package: old-tool\nStatus: deinstall ok config-files\nVersion: 1.0\nArchitecture: amd64\n',
    });

    assert.deepEqual(
      installedPackagesOf(files).map((p) => p.name),
      ['bash'],
    );
  });

  it('finds no packages in an image without a dpkg database', () => {
    assert.deepEqual(installedPackagesOf(filesOf({ 'etc/hostname': 'x\n' })), []);
  });

  it('refuses a stanza without a valid name or version, and a package listed twice', () => {
    const nameless = filesOf({ 'var/lib/dpkg/status.d/x': 'Version: 1\nArchitecture: amd64\n' });
    const twice = filesOf({
      'var/lib/dpkg/status': 'Package: bash\nVersion: 5.2\nArchitecture: amd64\n',
      'var/lib/dpkg/status.d/bash': 'Package: bash\nVersion: 5.2\nArchitecture: amd64\n',
    });
    const garbled = filesOf({ 'var/lib/dpkg/status.d/x': 'not a control file\n' });
    const climbing = filesOf({
      'var/lib/dpkg/status.d/x': 'Package: x1\nVersion: 1.0/../../x\nArchitecture: amd64\n',
    });

    for (const files of [nameless, twice, garbled, climbing]) {
      assert.throws(() => installedPackagesOf(files), { code: 'BASE_INVALID' });
    }
  });
});
