import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFixtureTar } from '../../test/fixtures/hostile-tar.js';
import { type TarEntry, writeTar } from './tar.js';
import { firstFileHead, readHead, readTarStream, type StreamEntry } from './tar-stream.js';

const data = Buffer.from('#!/bin/sh\necho hello\n');
const entries: TarEntry[] = [
  { path: 'usr/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
  { path: 'usr/bin/hello', type: 'file', mode: 0o755, uid: 0, gid: 0, size: data.length, mtime: 0, data },
  { path: 'usr/bin/hi', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: 'hello' },
];

async function* chunked(bytes: Buffer, size: number) {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

async function readAll(source: AsyncIterable<Buffer>) {
  const read: { entry: StreamEntry; text: string }[] = [];
  for await (const { entry, content } of readTarStream(source)) {
    const parts: Buffer[] = [];
    for await (const chunk of content) parts.push(chunk);
    read.push({ entry, text: Buffer.concat(parts).toString() });
  }
  return read;
}

describe('readTarStream', () => {
  it('reads entries and their bytes from a stream cut into odd chunks', async () => {
    const read = await readAll(chunked(writeTar(entries), 7));

    assert.deepEqual(
      read.map(({ entry }) => [entry.path, entry.type, entry.mode]),
      [
        ['/usr', 'dir', 0o755],
        ['/usr/bin/hello', 'file', 0o755],
        ['/usr/bin/hi', 'symlink', 0o777],
      ],
    );
    assert.equal(read[1]?.text, data.toString());
    assert.equal(read[2]?.entry.linkname, 'hello');
  });

  it('skips the bytes of entries the caller does not read', async () => {
    const paths: string[] = [];

    for await (const { entry } of readTarStream(chunked(writeTar(entries), 100))) paths.push(entry.path);

    assert.deepEqual(paths, ['/usr', '/usr/bin/hello', '/usr/bin/hi']);
  });

  it('fails with TAR_TRUNCATED when the stream is cut inside a file', async () => {
    const tar = writeTar(entries);

    await assert.rejects(readAll(chunked(tar.subarray(0, 512 + 512 + 10), 64)), { code: 'TAR_TRUNCATED' });
  });

  it('fails with TAR_TRUNCATED when the stream ends cleanly between entries but without its end block', async () => {
    const tar = writeTar(entries);
    const withoutEnd = tar.subarray(0, tar.length - 1024);

    await assert.rejects(readAll(chunked(withoutEnd, 512)), { code: 'TAR_TRUNCATED' });
  });

  it('fails with TAR_MALFORMED on a forged header whose checksum does not match', async () => {
    const tar = Buffer.from(writeTar(entries));
    tar[512 + 10] = 0x41; // a byte of the second entry's name

    await assert.rejects(readAll(chunked(tar, 512)), { code: 'TAR_MALFORMED' });
  });

  it('fails with TAR_MALFORMED on a path that climbs out of the root', async () => {
    // herd's writer refuses such a path; the fixture writes it as an attacker's tool would.
    const tar = writeFixtureTar([
      { path: '../etc/shadow', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 },
    ]);

    await assert.rejects(readAll(chunked(tar, 512)), { code: 'TAR_MALFORMED' });
  });

  it('holds an archive to the same rules as readTar: no data after a folder header, one long name per entry', async () => {
    const inner = writeTar([entries[1] as TarEntry]).subarray(0, 1024);
    const folder = Buffer.from(writeTar([entries[0] as TarEntry]).subarray(0, 512));
    folder.write(inner.length.toString(8).padStart(11, '0'), 124, 'latin1');
    rechecksum(folder);
    await assert.rejects(readAll(chunked(Buffer.concat([folder, inner, Buffer.alloc(1024)]), 512)), {
      code: 'TAR_MALFORMED',
      message: /tar entry usr\/ at offset 0: a dir entry claims 1024 bytes of data/,
    });

    const longName = (name: string) => {
      const bytes = Buffer.from(name);
      const header = Buffer.from(
        writeTar([{ ...(entries[1] as TarEntry), size: bytes.length, data: bytes }]),
      );
      header.write('L', 156, 'latin1');
      rechecksum(header);
      return header.subarray(0, 1024);
    };
    const twoNames = Buffer.concat([longName('etc/ok'), longName('usr/bin/evil'), writeTar(entries)]);
    await assert.rejects(readAll(chunked(twoNames, 512)), {
      code: 'TAR_MALFORMED',
      message: /expected at most one of each kind/,
    });
  });

  it('stops at the entry limit with TAR_TOO_LARGE', async () => {
    const tar = writeTar(entries);

    await assert.rejects(
      (async () => {
        for await (const _ of readTarStream(chunked(tar, 512), { maxEntries: 2 })) {
          // reading is the point
        }
      })(),
      { code: 'TAR_TOO_LARGE' },
    );
  });
});

describe('readHead and firstFileHead', () => {
  it("reads only a file's first bytes, across chunks, and lets the stream go on to the next entry", async () => {
    const heads: [string, string][] = [];

    for await (const { entry, content } of readTarStream(chunked(writeTar(entries), 5))) {
      if (entry.type === 'file') heads.push([entry.path, (await readHead(content, 12)).toString()]);
      else heads.push([entry.path, '']);
    }

    assert.deepEqual(heads, [
      ['/usr', ''],
      ['/usr/bin/hello', '#!/bin/sh\necho'.slice(0, 12)],
      ['/usr/bin/hi', ''],
    ]);
  });

  it('gives the whole of a file shorter than the head, and nothing for a head of 0', async () => {
    const one = writeTar([entries[1] as TarEntry]);
    const zero: Buffer[] = [];

    for await (const { content } of readTarStream(chunked(one, 512))) zero.push(await readHead(content, 0));
    const whole = await firstFileHead(readTarStream(chunked(one, 7)), 4096);

    assert.deepEqual(zero, [Buffer.alloc(0)]);
    assert.equal(whole?.toString(), data.toString());
  });

  it("reads the archive's first entry only: a folder where a file was gives no head, not a file inside it", async () => {
    const folder = writeTar([entries[0] as TarEntry, { ...(entries[1] as TarEntry), path: 'usr/evil' }]);

    assert.equal(await firstFileHead(readTarStream(chunked(folder, 512)), 64), undefined);
    assert.equal(await firstFileHead(readTarStream(chunked(writeTar([]), 512)), 64), undefined);
  });
});

/** Rewrites the checksum of a header edited by a test. */
function rechecksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  const sum = header.subarray(0, 512).reduce((total, byte) => total + byte, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
