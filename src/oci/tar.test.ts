import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OciError } from './errors.js';
import {
  encodeTarHeader,
  normalizeArchivePath,
  readTar,
  sortTarEntries,
  symlinkEscapes,
  type TarEntry,
  writeTar,
} from './tar.js';

const mtime = 1_700_000_000;

function file(path: string, content: string, mode = 0o644): TarEntry {
  const data = Buffer.from(content);
  return { path, type: 'file', mode, uid: 0, gid: 0, size: data.length, mtime, data };
}

function dir(path: string): TarEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime };
}

function link(path: string, type: 'symlink' | 'hardlink', target: string): TarEntry {
  return { path, type, mode: 0o777, uid: 0, gid: 0, size: 0, mtime, linkname: target };
}

function gnuTar(args: string[], options: { cwd?: string; input?: Buffer } = {}) {
  const result = spawnSync('tar', args, { ...options, maxBuffer: 1 << 28 });
  if (result.error) assert.fail(`GNU tar is missing: install tar to run this test (${result.error.message})`);
  assert.equal(result.status, 0, result.stderr.toString());
  return result.stdout;
}

function assertTarError(
  fn: () => unknown,
  code: 'TAR_MALFORMED' | 'TAR_TOO_LARGE' | 'TAR_UNSAFE_PATH',
  mentions?: string,
) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof OciError, `expected an OciError, got ${error}`);
    assert.equal(error.code, code, error.message);
    if (mentions) {
      assert.ok(error.message.includes(mentions), `message should mention ${mentions}: ${error.message}`);
    }
    return true;
  });
}

const longDir = `usr/share/${'d'.repeat(90)}/${'e'.repeat(50)}`;
const longName = `usr/share/${'n'.repeat(200)}.txt`;
const longTarget = `/${'t'.repeat(150)}`;

const sample: TarEntry[] = [
  dir('usr'),
  { ...file('usr/bin/sudo', '#!/bin/true\n', 0o4755), uid: 3_000_000, gid: 42 },
  link('usr/bin/editor', 'symlink', '/etc/alternatives/editor'),
  link('usr/bin/vi', 'hardlink', 'usr/bin/sudo'),
  dir(longDir),
  file(`${longDir}/file-with-a-long-path`, 'prefix split'),
  file(longName, 'pax path'),
  link('usr/lib/long-link', 'symlink', longTarget),
  file('usr/share/doc/café/ünïcödé', 'utf-8'),
  file('empty', ''),
];

describe('writeTar', () => {
  it('round-trips every entry type through readTar', () => {
    const tar = writeTar(sample);

    const read = readTar(tar);

    assert.deepEqual(
      read.map((e) => ({ ...e, data: e.data?.toString(), offset: undefined, typeflag: undefined })),
      sample.map((e) => ({
        ...e,
        path: e.type === 'dir' ? `${e.path}/` : e.path,
        size: e.type === 'file' ? e.size : 0,
        data: e.data?.toString(),
        offset: undefined,
        typeflag: undefined,
      })),
    );
  });

  it('writes the same bytes for the same entries', () => {
    assert.ok(writeTar(sample).equals(writeTar(structuredClone(sample))));
  });

  it('ends with two zero blocks and pads every member to 512 bytes', () => {
    const tar = writeTar([file('a', 'x')]);

    assert.equal(tar.length, 512 + 512 + 1024);
    assert.ok(tar.subarray(-1024).every((byte) => byte === 0));
  });

  it('writes numeric ids with empty user and group names and the ustar magic', () => {
    const header = encodeTarHeader(file('a', 'x'));

    assert.equal(header.length, 512);
    assert.equal(header.toString('latin1', 257, 265), 'ustar\x0000');
    assert.ok(header.subarray(265, 329).every((byte) => byte === 0));
  });

  it('splits a path over 100 bytes into ustar prefix and name when it can', () => {
    const path = `${longDir}/x`;

    const header = encodeTarHeader(file(path, ''));

    assert.equal(header.length, 512);
    assert.equal(header.toString('latin1', 257, 263), 'ustar\0');
    assert.equal(readTar(Buffer.concat([header, Buffer.alloc(1024)]))[0]?.path, path);
  });

  it('uses a pax header carrying only path and linkpath when ustar cannot hold them', () => {
    const header = encodeTarHeader(link(longName, 'symlink', longTarget));

    const records = header.toString('utf8', 512, header.indexOf(0, 512));
    assert.equal(header.toString('latin1', 156, 157), 'x');
    assert.deepEqual(
      records.split('\n').map((record) => record.replace(/^\d+ /, '').split('=')[0]),
      ['path', 'linkpath', ''],
    );
    for (const record of records.trimEnd().split('\n')) {
      assert.equal(Buffer.byteLength(`${record}\n`), Number(record.split(' ')[0]));
    }
  });

  it('writes archives that GNU tar lists and extracts exactly', async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'herd-tar-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    const tar = writeTar(sortTarEntries(sample.map((e) => ({ ...e, uid: 0, gid: 0 }))));

    const listing = gnuTar(['--numeric-owner', '-tvf', '-'], { input: tar }).toString();
    gnuTar(['-xf', '-', '-C', out], { input: tar });

    assert.match(listing, /^-rwsr-xr-x 0\/0 +12 2023-11-1\d \d\d:\d\d usr\/bin\/sudo$/m);
    assert.match(listing, /^lrwxrwxrwx 0\/0 +0 .* usr\/bin\/editor -> \/etc\/alternatives\/editor$/m);
    assert.match(listing, /^hrwxrwxrwx 0\/0 +0 .* usr\/bin\/vi link to usr\/bin\/sudo$/m);
    assert.ok(listing.includes(`${longName}\n`));
    assert.ok(listing.includes(`usr/lib/long-link -> ${longTarget}\n`));
    assert.equal(await readFile(join(out, longName), 'utf8'), 'pax path');
    assert.equal(await readFile(join(out, longDir, 'file-with-a-long-path'), 'utf8'), 'prefix split');
    assert.equal(await readFile(join(out, 'usr/share/doc/café/ünïcödé'), 'utf8'), 'utf-8');
  });

  it('refuses entries it cannot write faithfully', () => {
    assertTarError(() => writeTar([{ ...file('a', 'xy'), size: 5 }]), 'TAR_MALFORMED', 'a');
    assertTarError(() => writeTar([file('a\0b', '')]), 'TAR_MALFORMED');
    assertTarError(() => writeTar([{ ...link('a', 'symlink', ''), linkname: undefined }]), 'TAR_MALFORMED');
  });

  it('refuses to write an entry that would land outside the root, whatever the caller passes', () => {
    const climbing = [
      file('../x', 'evil'),
      file('/abs', 'evil'),
      file('usr/../../etc/passwd', 'evil'),
      file('./../x', 'evil'),
      dir('../up/'),
      link('usr/bin/x', 'hardlink', '../../etc/shadow'),
      link('usr/bin/x', 'hardlink', '/etc/shadow'),
      file(`${'a/'.repeat(80)}../../x`, 'a long path goes through pax, and is refused all the same'),
    ];

    for (const entry of climbing) {
      assertTarError(() => writeTar([entry]), 'TAR_UNSAFE_PATH', entry.path);
      assertTarError(() => encodeTarHeader(entry), 'TAR_UNSAFE_PATH');
    }
  });

  it('still writes the root entry, dotted names and symlinks that point up or to absolute paths', () => {
    const entries = [
      dir('./'),
      file('./usr/..hidden', 'x'),
      file('usr/a..b', 'x'),
      link('usr/lib/libz.so', 'symlink', '../../lib/libz.so.1'),
      link('lib64/ld.so', 'symlink', '/lib/x86_64-linux-gnu/ld.so'),
    ];

    const read = readTar(writeTar(entries));

    assert.deepEqual(
      read.map((entry) => entry.path),
      ['./', './usr/..hidden', 'usr/a..b', 'usr/lib/libz.so', 'lib64/ld.so'],
    );
  });
});

describe('sortTarEntries', () => {
  it('orders by path bytes, so parents come before their children', () => {
    const paths = ['usr/lib/x', 'usr-local', 'usr/', 'usr/bin', 'a', 'usr/lib/', 'é', 'z'];

    const sorted = sortTarEntries(paths.map((path) => ({ path }))).map((e) => e.path);

    assert.deepEqual(sorted, ['a', 'usr/', 'usr-local', 'usr/bin', 'usr/lib/', 'usr/lib/x', 'z', 'é']);
  });
});

describe('readTar on archives written by GNU tar', () => {
  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads the ${format} format, with long names where it has them`, async (t) => {
      const root = await mkdtemp(join(tmpdir(), 'herd-tar-'));
      t.after(() => rm(root, { recursive: true, force: true }));
      const deep = format === 'ustar' ? longDir : `${longDir}/${'f'.repeat(120)}`;
      await mkdir(join(root, deep), { recursive: true });
      await writeFile(join(root, deep, 'data'), 'hello');
      await symlink(format === 'ustar' ? '/etc/short' : longTarget, join(root, 'link'));
      const globalHeader = format === 'pax' ? ['--pax-option=comment=a global header'] : [];

      const tar = gnuTar([`--format=${format}`, ...globalHeader, '--sort=name', '-cf', '-', '.'], {
        cwd: root,
      });
      const entries = readTar(tar);

      const fileEntry = entries.find((e) => e.path === `./${deep}/data`);
      assert.equal(fileEntry?.data?.toString(), 'hello');
      assert.equal(
        entries.find((e) => e.path === './link')?.linkname,
        format === 'ustar' ? '/etc/short' : longTarget,
      );
      assert.ok(entries.some((e) => e.path === `./${deep}/` && e.type === 'dir'));
    });
  }
});

describe('readTar on malformed archives', () => {
  it('rejects a header whose checksum does not match', () => {
    const tar = writeTar([file('usr/bin/x', 'x')]);
    tar[0] = 'v'.charCodeAt(0);

    assertTarError(() => readTar(tar), 'TAR_MALFORMED', 'checksum');
  });

  it('names the entry and offset when data is truncated', () => {
    const tar = writeTar([file('a', 'x'), file('usr/bin/x', 'y'.repeat(2000))]);

    assertTarError(
      () => readTar(tar.subarray(0, 2000)),
      'TAR_MALFORMED',
      'tar entry usr/bin/x at offset 1024',
    );
  });

  it('rejects a truncated header', () => {
    assertTarError(
      () => readTar(writeTar([file('a', 'x')]).subarray(0, 1124)),
      'TAR_MALFORMED',
      'offset 1024',
    );
  });

  it('rejects a pax header that is not followed by an entry', () => {
    const withPax = writeTar([file(longName, 'x')]);
    const paxOnly = Buffer.concat([withPax.subarray(0, 1024), Buffer.alloc(1024)]);

    assertTarError(() => readTar(paxOnly), 'TAR_MALFORMED', 'not followed by an entry');
  });

  it('rejects a pax record whose length does not add up', () => {
    const tar = writeTar([file(longName, 'x')]);
    const lengthDigit = tar.indexOf(' path=') - 1;
    tar[lengthDigit] = (tar[lengthDigit] ?? 0) + 1;

    assertTarError(() => readTar(tar), 'TAR_MALFORMED', 'pax record');
  });

  it('reads a base-256 size', () => {
    const tar = writeTar([file('a', 'xyz')]);
    tar.fill(0, 124, 136);
    tar[124] = 0x80;
    tar[135] = 3;
    const sum = tar
      .subarray(0, 512)
      .reduce((total, byte, i) => total + (i >= 148 && i < 156 ? 0x20 : byte), 0);
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');

    assert.equal(readTar(tar)[0]?.data?.toString(), 'xyz');
  });

  it('enforces the entry count, entry size and total size limits', () => {
    const tar = writeTar([file('a', 'x'.repeat(600)), file('b', 'y'.repeat(600))]);

    assertTarError(() => readTar(tar, { maxEntries: 1 }), 'TAR_TOO_LARGE', 'b');
    assertTarError(() => readTar(tar, { maxEntrySize: 599 }), 'TAR_TOO_LARGE', 'a');
    assertTarError(() => readTar(tar, { maxTotalSize: 1000 }), 'TAR_TOO_LARGE', 'b');
    assert.equal(readTar(tar, { maxEntries: 2, maxEntrySize: 600, maxTotalSize: 1200 }).length, 2);
  });

  it('reports device nodes and fifos with their own types', () => {
    const tar = writeTar([file('dev/null', '')]);
    tar.write('3', 156, 'latin1');
    tar.fill(0x20, 148, 156);
    const sum = tar.subarray(0, 512).reduce((total, byte) => total + byte, 0);
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');

    assert.equal(readTar(tar)[0]?.type, 'char');
  });

  it('refuses a directory, link or device header that claims data, which would hide the entries inside it', () => {
    const hidden = writeTar([file('usr/bin/evil', '#!/bin/sh\n', 0o4755)]).subarray(0, 1024);
    for (const [typeflag, name] of [
      ['5', 'opt/'],
      ['2', 'opt/link'],
      ['1', 'opt/hard'],
      ['3', 'dev/tty'],
      ['\0', 'opt/'],
    ] as const) {
      const header = writeTar([file(name, '')]).subarray(0, 512);
      header.write(typeflag, 156, 'latin1');
      header.write(hidden.length.toString(8).padStart(11, '0'), 124, 'latin1');
      rechecksum(header);
      const tar = Buffer.concat([header, hidden, Buffer.alloc(1024)]);

      assertTarError(() => readTar(tar), 'TAR_MALFORMED', `tar entry ${name} at offset 0`);
    }
  });
});

describe('readTar with headers readers disagree on', () => {
  it('refuses a typeflag 0 file whose name ends in a slash, and reads a \\0 one as the old directory', () => {
    // Empty, so that it is the name alone, not data after a directory header, that is refused.
    const ambiguous = writeTar([file('usr/bin/evil/', '', 0o4755)]);
    assertTarError(
      () => readTar(ambiguous),
      'TAR_MALFORMED',
      'usr/bin/evil/ at offset 0: a regular file (typeflag "0")',
    );

    const legacy = writeTar([file('opt/', '')]);
    legacy.write('\0', 156, 'latin1');
    rechecksum(legacy);
    assert.equal(readTar(legacy)[0]?.type, 'dir');
  });

  const entry = writeTar([file('etc/harmless', 'x')]).subarray(0, 1024);
  const pax = (key: string, value: string, typeflag = 'x') => {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) length++;
    return metaHeader(typeflag, `${length}${body}`);
  };

  it('refuses a second pax header, GNU long name or long link before one entry', () => {
    for (const [first, second] of [
      [pax('path', 'etc/harmless'), pax('mtime', '1')],
      [metaHeader('L', 'etc/harmless'), metaHeader('L', 'usr/bin/evil')],
      [metaHeader('K', 'etc/a'), metaHeader('K', 'etc/b')],
    ]) {
      const tar = Buffer.concat([
        first ?? Buffer.alloc(0),
        second ?? Buffer.alloc(0),
        entry,
        Buffer.alloc(1024),
      ]);
      assertTarError(() => readTar(tar), 'TAR_MALFORMED', 'expected at most one of each kind');
    }
  });

  it('refuses a pax global header between an extended header and its entry', () => {
    const global = pax('comment', 'made by a hostile writer', 'g');
    const tar = Buffer.concat([pax('path', 'usr/bin/evil'), global, entry, Buffer.alloc(1024)]);

    assertTarError(() => readTar(tar), 'TAR_MALFORMED', 'a g header after x headers');
  });

  it('refuses a pax path and a GNU long name that disagree, and reads them when they agree', () => {
    const disagree = Buffer.concat([pax('path', 'etc/harmless'), metaHeader('L', 'usr/bin/evil'), entry]);
    assertTarError(
      () => readTar(Buffer.concat([disagree, Buffer.alloc(1024)])),
      'TAR_MALFORMED',
      'pax path "etc/harmless" and GNU long name "usr/bin/evil" disagree',
    );

    const agree = Buffer.concat([metaHeader('L', 'usr/bin/same'), pax('path', 'usr/bin/same'), entry]);
    assert.equal(readTar(Buffer.concat([agree, Buffer.alloc(1024)]))[0]?.path, 'usr/bin/same');
  });
});

/** A pax (`x`, `g`) or GNU (`L`, `K`) header with its payload, padded to whole blocks. */
function metaHeader(typeflag: string, payload: string): Buffer {
  const member = writeTar([file('././@LongLink', payload)]);
  const header = Buffer.from(member.subarray(0, 512 + Math.ceil(payload.length / 512) * 512));
  header.write(typeflag, 156, 'latin1');
  rechecksum(header);
  return header;
}

/** Rewrites the checksum of a header edited by a test. */
function rechecksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  const sum = header.subarray(0, 512).reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

describe('normalizeArchivePath', () => {
  it('strips ./ and trailing slashes', () => {
    assert.deepEqual(normalizeArchivePath('./usr/bin/'), { kind: 'ok', path: 'usr/bin' });
    assert.deepEqual(normalizeArchivePath('usr//./bin/x'), { kind: 'ok', path: 'usr/bin/x' });
  });

  it('rejects absolute paths, .. components, NUL and the root itself', () => {
    assert.deepEqual(normalizeArchivePath('/etc/passwd'), { kind: 'rejected', reason: 'absolute' });
    assert.deepEqual(normalizeArchivePath('./usr/../../etc'), { kind: 'rejected', reason: 'parent' });
    assert.deepEqual(normalizeArchivePath('a\0b'), { kind: 'rejected', reason: 'nul' });
    assert.deepEqual(normalizeArchivePath('./'), { kind: 'rejected', reason: 'empty' });
    assert.deepEqual(normalizeArchivePath(''), { kind: 'rejected', reason: 'empty' });
  });
});

describe('symlinkEscapes', () => {
  it('resolves relative targets from the link directory and roots absolute ones', () => {
    assert.equal(symlinkEscapes('usr/bin/x', '../lib/x'), false);
    assert.equal(symlinkEscapes('usr/bin/x', '../../x'), false);
    assert.equal(symlinkEscapes('usr/bin/x', '../../../x'), true);
    assert.equal(symlinkEscapes('x', '..'), true);
    assert.equal(symlinkEscapes('usr/x', 'a/../../../y'), true);
    assert.equal(symlinkEscapes('usr/x', '/../../etc'), false);
  });
});
