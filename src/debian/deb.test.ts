import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  arArchive,
  buildDeb,
  compress,
  type DebCompression,
  dirEntry,
  type FixtureTarEntry,
  fileEntry,
  fixtureTar,
  hardlinkEntry,
  symlinkEntry,
} from '../../test/fixtures/deb-builder.js';
import {
  type DebContents,
  debMemberChunks,
  readDataTarStream,
  readDeb,
  readDebFileMembers,
  readDebMembers,
} from './deb.js';
import { DebianError, type DebianErrorCode } from './errors.js';

const name = 'fixture_1.0_amd64.deb';

async function readFixture(files: FixtureTarEntry[], options: { compression?: DebCompression } = {}) {
  return readDeb(await buildDeb({ files, ...options }), { name });
}

async function assertRejects(promise: Promise<unknown>, code: DebianErrorCode, mentions?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DebianError, `expected a DebianError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.startsWith(`${name}: `), `message should name the deb: ${error.message}`);
    if (mentions) {
      assert.ok(error.message.includes(mentions), `message should mention ${mentions}: ${error.message}`);
    }
    return true;
  });
}

function summary(deb: DebContents) {
  return deb.files.map((f) => ({
    path: f.path,
    type: f.type,
    linkname: f.linkname,
    text: f.data?.toString(),
  }));
}

describe('readDeb', () => {
  for (const compression of ['gz', 'xz', 'xz-blocks', 'zst', 'none'] as const) {
    it(`reads a package whose members are compressed with ${compression}`, async () => {
      const big = 'x'.repeat(20_000);
      const files = [
        dirEntry('./'),
        dirEntry('./usr/'),
        fileEntry('./usr/big', big),
        fileEntry('./usr/a', 'hi'),
      ];

      const deb = await readDeb(
        await buildDeb({ files, compression, controlFiles: { md5sums: 'abc  usr/a\n' } }),
        {
          name,
        },
      );

      assert.match(deb.control, /^Package: fixture\n/);
      assert.equal(deb.md5sums, 'abc  usr/a\n');
      assert.deepEqual(summary(deb), [
        { path: 'usr', type: 'dir', linkname: undefined, text: undefined },
        { path: 'usr/big', type: 'file', linkname: undefined, text: big },
        { path: 'usr/a', type: 'file', linkname: undefined, text: 'hi' },
      ]);
    });
  }

  it('normalizes paths and keeps permission bits, including setuid', async () => {
    const deb = await readFixture([dirEntry('./usr/bin/'), fileEntry('./usr/bin/su', 'x', 0o4755)]);

    assert.deepEqual(
      deb.files.map((f) => [f.path, f.mode.toString(8), f.size]),
      [
        ['usr/bin', '755', 0],
        ['usr/bin/su', '4755', 1],
      ],
    );
  });

  it('keeps absolute symlink targets, which resolve inside the image root', async () => {
    const deb = await readFixture([symlinkEntry('./usr/bin/editor', '/etc/alternatives/editor')]);

    assert.deepEqual(summary(deb), [
      { path: 'usr/bin/editor', type: 'symlink', linkname: '/etc/alternatives/editor', text: undefined },
    ]);
  });

  it('accepts relative symlinks that stay inside the root', async () => {
    const deb = await readFixture([
      symlinkEntry('./usr/lib/x86_64-linux-gnu/libz.so', '../../../lib/libz.so.1'),
    ]);

    assert.equal(deb.files[0]?.linkname, '../../../lib/libz.so.1');
  });

  it('gives a hardlink the normalized path and the data of its earlier target', async () => {
    const deb = await readFixture([
      fileEntry('./usr/bin/perl', 'perl'),
      hardlinkEntry('./usr/bin/perl5', './usr/bin/perl'),
    ]);

    assert.deepEqual(summary(deb)[1], {
      path: 'usr/bin/perl5',
      type: 'hardlink',
      linkname: 'usr/bin/perl',
      text: 'perl',
    });
    assert.equal(deb.files[1]?.size, 4);
  });

  it('returns file data as views into the decompressed tar rather than copies', async () => {
    const deb = await readFixture([fileEntry('./a', 'one'), fileEntry('./b', 'two')], {
      compression: 'none',
    });

    assert.equal(deb.files[0]?.data?.buffer, deb.files[1]?.data?.buffer);
  });
});

describe('readDeb on hostile packages', () => {
  it('rejects a path that climbs with ..', async () => {
    await assertRejects(
      readFixture([fileEntry('./usr/../../etc/passwd', 'x')]),
      'DEB_UNSAFE_PATH',
      '../../etc/passwd',
    );
  });

  it('rejects an absolute path', async () => {
    await assertRejects(readFixture([fileEntry('/etc/passwd', 'x')]), 'DEB_UNSAFE_PATH', '/etc/passwd');
  });

  it('rejects a symlink whose relative target escapes the root', async () => {
    await assertRejects(
      readFixture([symlinkEntry('./usr/lib/evil', '../../../etc/shadow')]),
      'DEB_UNSAFE_ENTRY',
      'usr/lib/evil',
    );
  });

  it('rejects a file written through a symlink of the same package', async () => {
    const files = [symlinkEntry('./usr/lib/pivot', '/etc'), fileEntry('./usr/lib/pivot/shadow', 'x')];

    await assertRejects(readFixture(files), 'DEB_UNSAFE_ENTRY', 'usr/lib/pivot');
  });

  for (const [typeflag, kind] of [
    ['3', 'char'],
    ['4', 'block'],
    ['6', 'fifo'],
    ['S', 'unknown'],
  ] as const) {
    it(`rejects a ${kind} entry (typeflag ${typeflag})`, async () => {
      const device = { ...fileEntry('./dev/sda', ''), header: { typeflag } };

      await assertRejects(readFixture([device]), 'DEB_UNSAFE_ENTRY', './dev/sda');
    });
  }

  it('rejects a hardlink to a path not earlier in the package', async () => {
    await assertRejects(
      readFixture([hardlinkEntry('./usr/bin/x', './etc/shadow')]),
      'DEB_UNSAFE_ENTRY',
      './usr/bin/x',
    );
  });

  it('rejects a hardlink whose target climbs out of the root', async () => {
    await assertRejects(readFixture([hardlinkEntry('./x', '../../etc/shadow')]), 'DEB_UNSAFE_ENTRY');
  });

  it('rejects an entry whose declared size exceeds the per-entry limit before reading it', async () => {
    const huge = { ...fileEntry('./usr/huge', ''), header: { size: 10 * 1024 ** 3 } };

    await assertRejects(readFixture([huge]), 'DEB_TOO_LARGE', './usr/huge');
  });

  it('rejects an entry whose declared size runs past the end of data.tar', async () => {
    const lying = { ...fileEntry('./usr/lying', ''), header: { size: 1_000_000 } };

    await assertRejects(readFixture([lying]), 'DEB_MALFORMED', './usr/lying');
  });

  for (const compression of ['gz', 'xz', 'xz-blocks', 'zst'] as const) {
    it(`stops a ${compression} member that decompresses beyond the size limit`, async () => {
      const deb = await buildDeb({ files: [fileEntry('./zeros', Buffer.alloc(200_000))], compression });

      await assertRejects(
        readDeb(deb, { name, limits: { maxTotalSize: 100_000 } }),
        'DECOMPRESSED_TOO_LARGE',
        'data.tar',
      );
    });
  }

  it('refuses a plain tar member beyond the size limit', async () => {
    const deb = await buildDeb({ files: [fileEntry('./zeros', Buffer.alloc(200_000))], compression: 'none' });

    await assertRejects(
      readDeb(deb, { name, limits: { maxTotalSize: 100_000 } }),
      'DEB_TOO_LARGE',
      'data.tar',
    );
  });

  it('stops a control.tar that inflates past its own limit, far below the data limit', async () => {
    // A control.tar is held whole to be read, so a bomb there must stop long before maxTotalSize.
    const deb = await buildDeb({ files: [], controlFiles: { md5sums: '0'.repeat(200_000) } });
    const limits = { maxControlSize: 100_000 };

    await assertRejects(readDeb(deb, { name, limits }), 'DECOMPRESSED_TOO_LARGE', 'control.tar');
    const streamed = async () => {
      const members = readDebMembers(deb, { name, limits });
      for await (const _ of debMemberChunks(members.control, { name, limits })) {
        // drained: the limit is what stops it
      }
    };
    await assertRejects(streamed(), 'DECOMPRESSED_TOO_LARGE', 'control.tar');
    // The same data in data.tar is well within that member's limit.
    const roomy = await buildDeb({ files: [fileEntry('./md5sums', '0'.repeat(200_000))] });
    assert.equal((await readDeb(roomy, { name, limits })).files.length, 1);
  });

  it('stops a gz member at the limit although its trailer claims 10 bytes', async () => {
    const gz = await compress(fixtureTar([fileEntry('./zeros', Buffer.alloc(200_000))]), 'gz');
    gz.writeUInt32LE(10, gz.length - 4); // ISIZE
    const deb = debWithData('data.tar.gz', gz);

    await assertRejects(
      readDeb(deb, { name, limits: { maxTotalSize: 100_000 } }),
      'DECOMPRESSED_TOO_LARGE',
      'data.tar.gz',
    );
  });

  it('stops an xz member at the limit although its index claims 20000 bytes', async () => {
    const xz = await compress(fixtureTar([fileEntry('./zeros', Buffer.alloc(200_000))]), 'xz');
    const deb = debWithData('data.tar.xz', withXzIndexClaiming(xz, 20_000));

    await assertRejects(
      readDeb(deb, { name, limits: { maxTotalSize: 100_000 } }),
      'DECOMPRESSED_TOO_LARGE',
      'data.tar.xz',
    );
  });

  it('refuses an xz member whose index lies about its size, even within the limit', async () => {
    const xz = await compress(fixtureTar([fileEntry('./zeros', Buffer.alloc(200_000))]), 'xz');
    const deb = debWithData('data.tar.xz', withXzIndexClaiming(xz, 20_000));

    await assertRejects(readDeb(deb, { name }), 'DEB_MALFORMED', 'data.tar.xz');
  });

  it('rejects more entries than the limit', async () => {
    const files = Array.from({ length: 11 }, (_, i) => fileEntry(`./f${i}`, ''));

    await assertRejects(
      readDeb(await buildDeb({ files }), { name, limits: { maxEntries: 10 } }),
      'DEB_TOO_LARGE',
    );
  });

  it('rejects a truncated ar archive', async () => {
    const deb = await buildDeb({ files: [fileEntry('./a', 'x'.repeat(5000))] });

    await assertRejects(readDeb(deb.subarray(0, deb.length - 100), { name }), 'DEB_MALFORMED', 'data.tar.xz');
  });

  it('rejects a debian-binary that is not format 2', async () => {
    await assertRejects(
      readDeb(await buildDeb({ files: [], debianBinary: '3.0\n' }), { name }),
      'DEB_MALFORMED',
      '3.0',
    );
  });

  it('rejects input that is not an ar archive', async () => {
    await assertRejects(readDeb(Buffer.from('<html>not found</html>'), { name }), 'DEB_MALFORMED');
  });

  it('rejects a bzip2 member as unsupported', async () => {
    const deb = arArchive([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      {
        name: 'control.tar.gz',
        data: await compress(fixtureTar([fileEntry('./control', 'Package: x\n')]), 'gz'),
      },
      { name: 'data.tar.bz2', data: Buffer.from('BZh91AY&SY') },
    ]);

    await assertRejects(readDeb(deb, { name }), 'DEB_MALFORMED', 'data.tar.bz2');
  });

  it('rejects a data member that is not valid xz', async () => {
    const deb = arArchive([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar', data: fixtureTar([fileEntry('./control', 'Package: x\n')]) },
      { name: 'data.tar.xz', data: Buffer.from('\xfd7zXZ\0 garbage garbage garbage', 'latin1') },
    ]);

    await assertRejects(readDeb(deb, { name }), 'DEB_MALFORMED', 'data.tar.xz');
  });

  it('rejects a package without a control file', async () => {
    const deb = arArchive([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar', data: fixtureTar([fileEntry('./postinst', '#!/bin/sh\n')]) },
      { name: 'data.tar', data: fixtureTar([]) },
    ]);

    await assertRejects(readDeb(deb, { name }), 'DEB_MALFORMED', 'control');
  });
});

describe('readDeb on a package built by dpkg-deb', () => {
  for (const compression of ['xz', 'gzip', 'zstd', 'none']) {
    it(`reads control, md5sums, files and links (-Z${compression})`, async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'herd-deb-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const root = join(dir, 'root');
      await mkdir(join(root, 'DEBIAN'), { recursive: true });
      await mkdir(join(root, 'usr/bin'), { recursive: true });
      const control =
        'Package: tiny\nVersion: 1.0-1\nArchitecture: all\nMaintainer: herd <herd@example.org>\nDescription: tiny\n';
      await writeFile(join(root, 'DEBIAN/control'), control);
      await writeFile(join(root, 'DEBIAN/md5sums'), 'd41d8cd98f00b204e9800998ecf8427e  usr/bin/tiny\n');
      await writeFile(join(root, 'usr/bin/tiny'), '#!/bin/sh\necho tiny\n', { mode: 0o755 });
      await symlink('tiny', join(root, 'usr/bin/tiny-alias'));
      const debPath = join(dir, 'tiny.deb');

      const built = spawnSync('dpkg-deb', [
        '--root-owner-group',
        `-Z${compression}`,
        '--build',
        root,
        debPath,
      ]);
      if (built.error) assert.fail('dpkg-deb is missing: install dpkg to run this test');
      assert.equal(built.status, 0, built.stderr.toString());
      const deb = await readDeb(await readFile(debPath), { name: 'tiny.deb' });

      assert.equal(deb.control, control);
      assert.equal(deb.md5sums, 'd41d8cd98f00b204e9800998ecf8427e  usr/bin/tiny\n');
      assert.deepEqual(
        deb.files.map((f) => [f.path, f.type, f.mode.toString(8), f.uid, f.linkname ?? f.data?.toString()]),
        [
          ['usr', 'dir', '755', 0, undefined],
          ['usr/bin', 'dir', '755', 0, undefined],
          ['usr/bin/tiny', 'file', '755', 0, '#!/bin/sh\necho tiny\n'],
          ['usr/bin/tiny-alias', 'symlink', '777', 0, 'tiny'],
        ],
      );
    });
  }
});

/** A .deb with a valid control member and the given data member. */
function debWithData(memberName: string, data: Buffer): Buffer {
  const control = fixtureTar([
    fileEntry('./control', 'Package: fixture\nVersion: 1.0\nArchitecture: amd64\n'),
  ]);
  return arArchive([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar', data: control },
    { name: memberName, data },
  ]);
}

/**
 * A one-block xz stream whose index (xz-file-format §4) claims `size` uncompressed bytes, with
 * its CRC32 redone so that the index itself is well-formed: a stream that lies about its size.
 */
function withXzIndexClaiming(stream: Buffer, size: number): Buffer {
  const out = Buffer.from(stream);
  const footer = out.length - 12;
  const indexStart = footer - (out.readUInt32LE(footer + 4) + 1) * 4;
  const indexEnd = footer - 4; // the index's CRC32 follows its records and padding
  let pos = indexStart + 2; // indicator byte, then the record count (1, one byte)
  while ((out[pos] ?? 0) & 0x80) pos++; // unpadded size
  pos++;
  const sizeStart = pos;
  while ((out[pos] ?? 0) & 0x80) pos++;
  const width = pos + 1 - sizeStart;
  if (size < 2 ** (7 * (width - 1)) || size >= 2 ** (7 * width)) {
    throw new Error(`claim a size that takes ${width} bytes, as the real one does, got ${size}`);
  }
  for (let i = 0, rest = size; i < width; i++, rest = Math.floor(rest / 0x80)) {
    out[sizeStart + i] = (rest % 0x80) | (i < width - 1 ? 0x80 : 0);
  }
  out.writeUInt32LE(crc32(out.subarray(indexStart, indexEnd)), indexEnd);
  return out;
}

/** data.tar as a stream in uneven chunks, so no header or file arrives whole. */
async function* chunked(tar: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let at = 0; at < tar.length; at += size) yield tar.subarray(at, at + size);
}

function readStreamFixture(files: FixtureTarEntry[], limits?: { maxEntrySize: number }) {
  return readDataTarStream(chunked(fixtureTar(files)), {
    name,
    member: 'data.tar',
    ...(limits ? { limits } : {}),
  });
}

describe('readDataTarStream', () => {
  it('records each file by its offset in data.tar and its sha256, holding no bytes', async () => {
    const files = [
      dirEntry('./usr/'),
      fileEntry('./usr/bin/perl', 'perl'),
      hardlinkEntry('./usr/bin/perl5', './usr/bin/perl'),
      symlinkEntry('./usr/bin/p', 'perl'),
    ];
    const tar = fixtureTar(files);

    const read = await readDataTarStream(chunked(tar), { name, member: 'data.tar' });

    const sha256 = createHash('sha256').update('perl').digest('hex');
    const perl = read.find((file) => file.path === 'usr/bin/perl');
    assert.deepEqual(
      read.map(({ path, type, size, linkname, sha256: hash, data }) => ({
        path,
        type,
        size,
        linkname,
        hash,
        data,
      })),
      [
        { path: 'usr', type: 'dir', size: 0, linkname: undefined, hash: undefined, data: undefined },
        { path: 'usr/bin/perl', type: 'file', size: 4, linkname: undefined, hash: sha256, data: undefined },
        {
          path: 'usr/bin/perl5',
          type: 'hardlink',
          size: 4,
          linkname: 'usr/bin/perl',
          hash: sha256,
          data: undefined,
        },
        { path: 'usr/bin/p', type: 'symlink', size: 0, linkname: 'perl', hash: undefined, data: undefined },
      ],
    );
    assert.equal(tar.toString('utf8', perl?.offset, (perl?.offset ?? 0) + 4), 'perl');
    assert.equal(read[2]?.offset, perl?.offset);
  });

  const hostile: { name: string; files: FixtureTarEntry[]; code: DebianErrorCode }[] = [
    {
      name: 'a path that climbs with ..',
      files: [fileEntry('./usr/../../etc/passwd', 'x')],
      code: 'DEB_UNSAFE_PATH',
    },
    { name: 'an absolute path', files: [fileEntry('/etc/passwd', 'x')], code: 'DEB_UNSAFE_PATH' },
    {
      name: 'a symlink that escapes the root',
      files: [symlinkEntry('./usr/lib/evil', '../../../etc/shadow')],
      code: 'DEB_UNSAFE_ENTRY',
    },
    {
      name: 'a file through a symlink of the same package',
      files: [symlinkEntry('./usr/lib/pivot', '/etc'), fileEntry('./usr/lib/pivot/shadow', 'x')],
      code: 'DEB_UNSAFE_ENTRY',
    },
    {
      name: 'a device',
      files: [{ ...fileEntry('./dev/sda', ''), header: { typeflag: '3' } }],
      code: 'DEB_UNSAFE_ENTRY',
    },
    {
      name: 'a hardlink to nothing earlier',
      files: [hardlinkEntry('./usr/bin/x', './etc/shadow')],
      code: 'DEB_UNSAFE_ENTRY',
    },
    {
      name: 'an entry running past the end of data.tar',
      files: [{ ...fileEntry('./usr/lying', ''), header: { size: 1_000_000 } }],
      code: 'DEB_MALFORMED',
    },
  ];
  for (const testCase of hostile) {
    it(`refuses ${testCase.name} with readDeb's code, ${testCase.code}`, async () => {
      await assertRejects(readFixture(testCase.files), testCase.code);
      await assertRejects(readStreamFixture(testCase.files), testCase.code);
    });
  }

  it('refuses an entry over the per-entry limit before reading its bytes', async () => {
    const files = [fileEntry('./usr/big', Buffer.alloc(5000))];

    await assertRejects(readStreamFixture(files, { maxEntrySize: 4096 }), 'DEB_TOO_LARGE', './usr/big');
  });
});

describe('readDebFileMembers', () => {
  /** The .deb written to a file and opened, as the build's .deb cache hands it over. */
  async function onDisk(deb: Buffer) {
    const dir = await mkdtemp(join(tmpdir(), 'herd-deb-file-'));
    const path = join(dir, 'fixture.deb');
    await writeFile(path, deb);
    const file = await open(path, 'r');
    return {
      path,
      file,
      done: async () => {
        await file.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  async function tarOf(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
    const all: Buffer[] = [];
    for await (const chunk of chunks) all.push(chunk);
    return Buffer.concat(all);
  }

  for (const compression of ['xz', 'gz', 'zst', 'none'] as const) {
    it(`gives the members' tars as from memory (${compression})`, async () => {
      const deb = await buildDeb({ files: [fileEntry('./usr/bin/tool', 'x'.repeat(300_000))], compression });
      const { file, done } = await onDisk(deb);
      try {
        const fromFile = await readDebFileMembers(file, deb.length, { name });
        const inMemory = readDebMembers(deb, { name });
        for (const which of ['control', 'data'] as const) {
          assert.equal(fromFile[which].name, inMemory[which].name);
          assert.equal(fromFile[which].compression, inMemory[which].compression);
          assert.deepEqual(
            await tarOf(debMemberChunks(fromFile[which], { name })),
            await tarOf(debMemberChunks(inMemory[which], { name })),
          );
        }
      } finally {
        await done();
      }
    });
  }

  const controlTar = fixtureTar([fileEntry('./control', 'Package: x\n')]);
  const hostile: { name: string; deb: () => Promise<Buffer> }[] = [
    { name: 'input that is not an ar archive', deb: async () => Buffer.from('<html>not found</html>') },
    {
      name: 'a truncated ar archive',
      deb: async () => (await buildDeb({ files: [fileEntry('./a', 'x'.repeat(5000))] })).subarray(0, -100),
    },
    {
      name: 'a debian-binary that is not format 2',
      deb: () => buildDeb({ files: [], debianBinary: '3.0\n' }),
    },
    {
      name: 'a header cut short',
      deb: async () =>
        Buffer.concat([
          arArchive([{ name: 'debian-binary', data: Buffer.from('2.0\n') }]),
          Buffer.from('control.tar  '),
        ]),
    },
    {
      name: 'members out of order',
      deb: async () =>
        arArchive([
          { name: 'debian-binary', data: Buffer.from('2.0\n') },
          { name: 'data.tar', data: fixtureTar([]) },
          { name: 'control.tar', data: controlTar },
        ]),
    },
    {
      name: 'a member after data.tar',
      deb: async () =>
        arArchive([
          { name: 'debian-binary', data: Buffer.from('2.0\n') },
          { name: 'control.tar', data: controlTar },
          { name: 'data.tar', data: fixtureTar([]) },
          { name: 'evil', data: Buffer.from('x') },
        ]),
    },
    {
      name: 'a bzip2 member',
      deb: async () =>
        arArchive([
          { name: 'debian-binary', data: Buffer.from('2.0\n') },
          { name: 'control.tar', data: controlTar },
          { name: 'data.tar.bz2', data: Buffer.from('BZh91AY&SY') },
        ]),
    },
  ];
  for (const testCase of hostile) {
    it(`refuses ${testCase.name} with the in-memory reader's code and message`, async () => {
      const deb = await testCase.deb();
      let inMemory: unknown;
      try {
        readDebMembers(deb, { name });
      } catch (error) {
        inMemory = error;
      }
      assert.ok(inMemory instanceof DebianError, 'the in-memory reader refuses it too');
      const { file, done } = await onDisk(deb);
      try {
        await assertRejects(
          readDebFileMembers(file, deb.length, { name }),
          inMemory.code,
          inMemory.message.slice(name.length + 2),
        );
      } finally {
        await done();
      }
    });
  }

  it('refuses a member whose file shrank after its headers were read', async () => {
    const deb = await buildDeb({ files: [fileEntry('./a', 'x'.repeat(5000))], compression: 'none' });
    const { path, file, done } = await onDisk(deb);
    try {
      const members = await readDebFileMembers(file, deb.length, { name });
      await truncate(path, deb.length - 2000);

      await assertRejects(tarOf(debMemberChunks(members.data, { name })), 'DEB_MALFORMED', 'data.tar');
    } finally {
      await done();
    }
  });
});
