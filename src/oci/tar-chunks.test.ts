import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { igzipChunks } from './igzip.js';
import { sortTarEntries, type TarEntry, writeTar } from './tar.js';
import { type StreamedTarEntry, tarChunks } from './tar-chunks.js';

const mtime = 1_700_000_000;

function entries(): TarEntry[] {
  const file = (path: string, data: Buffer): TarEntry => ({
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime,
    data,
  });
  return sortTarEntries([
    { path: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime },
    file('usr/empty', Buffer.alloc(0)),
    file('usr/small', Buffer.from('hello\n')),
    file('usr/block', Buffer.alloc(512, 7)),
    file('usr/large', Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251))),
    file(`usr/${'long-name/'.repeat(20)}file`, Buffer.from('pax path')),
    { path: 'usr/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime, linkname: 'small' },
  ]);
}

/** The same entries with their bytes handed out in uneven pieces, as a file read from disk would be. */
function streamed(list: TarEntry[], piece = 4099): StreamedTarEntry[] {
  return list.map(({ data, ...entry }) => ({
    ...entry,
    ...(data && data.length > 0
      ? {
          content: async function* () {
            for (let at = 0; at < data.length; at += piece) yield Buffer.from(data.subarray(at, at + piece));
          },
        }
      : {}),
  }));
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('tarChunks', () => {
  it("writes writeTar's bytes, entry by entry", async () => {
    const list = entries();

    const tar = await collect(tarChunks(streamed(list)));

    assert.ok(tar.equals(writeTar(list)));
  });

  it('refuses a file whose content gives fewer or more bytes than its size', async () => {
    const short: StreamedTarEntry = {
      path: 'short',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 10,
      mtime,
      content: async function* () {
        yield Buffer.from('12345');
      },
    };
    const long = { ...short, path: 'long', size: 2 };

    await assert.rejects(collect(tarChunks([short])), {
      code: 'TAR_MALFORMED',
      message: /short: its size is 10 bytes but its content gave 5$/,
    });
    await assert.rejects(collect(tarChunks([long])), {
      code: 'TAR_MALFORMED',
      message: /long: its size is 2 bytes but its content gave 5 or more/,
    });
  });
});

describe('a layer streamed from a generator', () => {
  it('is tarred, gzipped and hashed holding a small part of it, never the whole', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const total = 128 * 1024 * 1024;
    const piece = 1024 * 1024;
    gc();
    const before = process.memoryUsage();
    let peak = 0;
    const content = async function* () {
      for (let sent = 0; sent < total; sent += piece) {
        // Collected garbage does not count: what is still referenced is what the stream holds.
        if ((sent / piece) % 16 === 0) {
          gc();
          const now = process.memoryUsage();
          peak = Math.max(peak, now.arrayBuffers - before.arrayBuffers + (now.heapUsed - before.heapUsed));
        }
        yield Buffer.alloc(piece, sent / piece);
      }
    };
    const file: StreamedTarEntry = {
      path: 'big',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: total,
      mtime,
      content,
    };
    const hash = createHash('sha256');
    let compressed = 0;

    for await (const chunk of igzipChunks(tarChunks([file]), { level: 1, name: 'big' })) {
      hash.update(chunk);
      compressed += chunk.length;
    }

    assert.ok(compressed > 0 && compressed < total / 100, `compressed to ${compressed} bytes`);
    // Freed buffers leave memoryUsage a little after a collection, so a few MB of slack stay.
    assert.ok(peak < total / 4, `held ${Math.round(peak / 1e6)} MB while streaming ${total / 1e6} MB`);
  });
});
