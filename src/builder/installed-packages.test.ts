import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageFile } from '../debian/dpkg-status.js';
import { installedPackagesOf } from './installed-packages.js';

function filesOf(entries: Record<string, string>): Map<string, ImageFile> {
  return new Map(
    Object.entries(entries).map(([path, text]): [string, ImageFile] => [
      path,
      { type: 'file', data: Buffer.from(text) },
    ]),
  );
}

// Which records are read, and which refused, is tested beside the reader in src/debian/dpkg-status.test.ts.
describe('installedPackagesOf', () => {
  it('gives archive-shaped records with relations, unfolded, and the installed suite', () => {
    const files = filesOf({
      '/var/lib/dpkg/status.d/libc6':
        'Package: libc6\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nMulti-Arch: same\nDepends: libgcc-s1,\n libc-bin\nDescription: GNU C Library\n shared libraries\n',
      '/var/lib/dpkg/status.d/tzdata': 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n',
    });

    const packages = installedPackagesOf(files);

    assert.deepEqual(
      packages.map((p) => [
        p.name,
        p.version,
        p.architecture,
        p.source,
        p.sourceVersion,
        p.depends,
        p.multiArch,
      ]),
      [
        ['libc6', '2.36-9+deb12u4', 'amd64', 'glibc', '2.36-9', 'libgcc-s1, libc-bin', 'same'],
        ['tzdata', '2024a-0+deb12u1', 'all', 'tzdata', '2024a-0+deb12u1', '', undefined],
      ],
    );
    assert.deepEqual([...new Set(packages.map((p) => p.suite))], ['installed']);
  });

  it('refuses a dpkg database the reader refuses as BASE_INVALID', () => {
    const nameless = filesOf({ '/var/lib/dpkg/status.d/x': 'Version: 1\nArchitecture: amd64\n' });
    const twice = filesOf({
      '/var/lib/dpkg/status': 'Package: bash\nVersion: 5.2\nArchitecture: amd64\n',
      '/var/lib/dpkg/status.d/bash': 'Package: bash\nVersion: 5.2\nArchitecture: amd64\n',
    });
    const garbled = filesOf({ '/var/lib/dpkg/status.d/x': 'not a control file\n' });

    for (const files of [nameless, twice, garbled]) {
      assert.throws(
        () => installedPackagesOf(files),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'BASE_INVALID');
          assert.match(error.message ?? '', /^base image's dpkg /);
          return true;
        },
      );
    }
  });
});
