import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImageFile, readDpkgStatus, readFileOwners } from './dpkg-status.js';

function filesOf(entries: Record<string, string | { link: string }>): Map<string, ImageFile> {
  return new Map(
    Object.entries(entries).map(([path, value]): [string, ImageFile] => [
      path,
      typeof value === 'string'
        ? { type: 'file', data: Buffer.from(value) }
        : { type: 'symlink', target: value.link },
    ]),
  );
}

describe('readDpkgStatus', () => {
  it('reads status.d stanzas, leaving out md5sums, with their source and installed size', () => {
    const files = filesOf({
      '/var/lib/dpkg/status.d/libc6':
        'Package: libc6\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nInstalled-Size: 12988\nDepends: libgcc-s1\nDescription: GNU C Library\n shared libraries\n',
      '/var/lib/dpkg/status.d/libc6.md5sums': '0123456789abcdef0123456789abcdef  usr/lib/libc.so.6\n',
      '/var/lib/dpkg/status.d/tzdata': 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n',
    });

    const records = readDpkgStatus(files);

    assert.deepEqual(
      records.map((r) => [
        r.name,
        r.version,
        r.architecture,
        r.source,
        r.sourceVersion,
        r.installedSizeKiB,
        r.recordPath,
      ]),
      [
        ['libc6', '2.36-9+deb12u4', 'amd64', 'glibc', '2.36-9', 12988, '/var/lib/dpkg/status.d/libc6'],
        [
          'tzdata',
          '2024a-0+deb12u1',
          'all',
          'tzdata',
          '2024a-0+deb12u1',
          undefined,
          '/var/lib/dpkg/status.d/tzdata',
        ],
      ],
    );
    assert.equal(records[0]?.paragraph.find(([key]) => key === 'Depends')?.[1], 'libgcc-s1');
  });

  it('reads a dpkg status file, leaving out packages whose files are gone', () => {
    const files = filesOf({
      '/var/lib/dpkg/status':
        'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n\n' +
        'Package: old-tool\nStatus: deinstall ok config-files\nVersion: 1.0\nArchitecture: amd64\n\n' +
        'Package: gone\nStatus: purge ok not-installed\nVersion: 1.0\nArchitecture: amd64\n',
    });

    assert.deepEqual(
      readDpkgStatus(files).map((r) => r.name),
      ['bash'],
    );
  });

  it('counts a half-installed or unpacked package, since its files are on disk to be judged', () => {
    const files = filesOf({
      '/var/lib/dpkg/status':
        'Package: libssl3\nStatus: install reinstreq half-installed\nVersion: 3.0.11-1\nArchitecture: amd64\n\n' +
        'Package: openssl\nStatus: install ok unpacked\nVersion: 3.0.11-1\nArchitecture: amd64\n',
    });

    assert.deepEqual(
      readDpkgStatus(files).map((r) => r.name),
      ['libssl3', 'openssl'],
    );
  });

  it('finds no packages in an image without a dpkg database', () => {
    assert.deepEqual(readDpkgStatus(filesOf({ '/etc/hostname': 'x\n' })), []);
  });

  const hostile: [string, Record<string, string>][] = [
    ['a stanza without a package name', { '/var/lib/dpkg/status.d/x': 'Version: 1\nArchitecture: amd64\n' }],
    ['a stanza without a version', { '/var/lib/dpkg/status.d/x': 'Package: x1\nArchitecture: amd64\n' }],
    [
      'a version that climbs out of a path',
      { '/var/lib/dpkg/status.d/x': 'Package: x1\nVersion: 1.0/../../x\nArchitecture: amd64\n' },
    ],
    [
      'an invalid architecture',
      { '/var/lib/dpkg/status.d/x': 'Package: x1\nVersion: 1.0\nArchitecture: ../x\n' },
    ],
    [
      'a Source field that is not "name (version)"',
      { '/var/lib/dpkg/status.d/x': 'Package: x1\nSource: a b c\nVersion: 1.0\nArchitecture: amd64\n' },
    ],
    [
      'a Source version that climbs out of a path',
      {
        '/var/lib/dpkg/status.d/x': 'Package: x1\nSource: x (1/../../y)\nVersion: 1.0\nArchitecture: amd64\n',
      },
    ],
    [
      'a Status that is no dpkg state',
      {
        '/var/lib/dpkg/status':
          'Package: x1\nStatus: install ok sideways\nVersion: 1.0\nArchitecture: amd64\n',
      },
    ],
    [
      'a package listed twice',
      {
        '/var/lib/dpkg/status': 'Package: bash\nVersion: 5.2\nArchitecture: amd64\n',
        '/var/lib/dpkg/status.d/bash': 'Package: bash\nVersion: 5.2\nArchitecture: amd64\n',
      },
    ],
    ['text that is not a control file', { '/var/lib/dpkg/status.d/x': 'not a control file\n' }],
  ];
  for (const [what, entries] of hostile) {
    it(`refuses ${what} as DPKG_DATABASE_INVALID, naming the record`, () => {
      assert.throws(
        () => readDpkgStatus(filesOf(entries)),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'DPKG_DATABASE_INVALID');
          assert.match(error.message ?? '', /\/var\/lib\/dpkg\/status/);
          return true;
        },
      );
    });
  }
});

describe('readFileOwners', () => {
  it("names each file's package from status.d md5sums, through a merged /usr", () => {
    const files = filesOf({
      '/bin': { link: 'usr/bin' },
      '/var/lib/dpkg/status.d/libssl3': 'Package: libssl3\nVersion: 3.0.11-1\nArchitecture: amd64\n',
      '/var/lib/dpkg/status.d/libssl3.md5sums': `${'0'.repeat(32)}  bin/openssl\n${'1'.repeat(32)}  ./usr/lib/libssl.so.3\n`,
    });

    const owners = readFileOwners(files);

    assert.deepEqual(
      [...owners],
      [
        ['/usr/bin/openssl', 'libssl3'],
        ['/usr/lib/libssl.so.3', 'libssl3'],
      ],
    );
  });

  it('reads info/*.list beside a status file, architecture qualifiers dropped', () => {
    const files = filesOf({
      '/var/lib/dpkg/status':
        'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n',
      '/var/lib/dpkg/info/libc6:amd64.list': '/.\n/usr\n/usr/lib/libc.so.6\n',
    });

    assert.deepEqual(
      [...readFileOwners(files)],
      [
        ['/usr', 'libc6'],
        ['/usr/lib/libc.so.6', 'libc6'],
      ],
    );
  });

  it('gives no owner from the md5sums or list of a package the database does not hold', () => {
    const files = filesOf({
      '/var/lib/dpkg/status':
        'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n',
      '/var/lib/dpkg/info/ghost.list': '/usr/share/doc/ghost/secret.pem\n',
      '/var/lib/dpkg/info/gone.list': '/etc/gone.conf\n',
      '/var/lib/dpkg/status.d/phantom.md5sums': `${'0'.repeat(32)}  root/.ssh/id_rsa\n`,
    });

    assert.deepEqual([...readFileOwners(files)], []);
  });

  it('ignores info/*.list without a status file, as dpkg would have none to trust', () => {
    const files = filesOf({ '/var/lib/dpkg/info/evil.list': '/usr/bin/sh\n' });

    assert.deepEqual([...readFileOwners(files)], []);
  });
});
