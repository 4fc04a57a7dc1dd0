import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TarEntry, writeTar } from '../oci/tar.js';
import { readExportStream } from './export-stream.js';

const file: TarEntry = {
  path: 'etc/motd',
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 3,
  mtime: 0,
  data: Buffer.from('hi\n'),
};

async function* once(bytes: Buffer) {
  yield bytes;
}

async function drain(source: AsyncIterable<Buffer>, limits = {}) {
  for await (const { content } of readExportStream(source, limits)) for await (const _ of content);
}

describe('readExportStream', () => {
  it("says the stream reader's failures with the watch's codes", async () => {
    const tar = writeTar([file, file]);
    const forged = Buffer.from(tar);
    forged[10] = 0x41;

    await assert.rejects(drain(once(tar.subarray(0, 600))), { code: 'EXPORT_TRUNCATED' });
    await assert.rejects(drain(once(tar.subarray(0, 513))), { code: 'EXPORT_TRUNCATED' });
    await assert.rejects(drain(once(forged)), { code: 'EXPORT_MALFORMED' });
    await assert.rejects(drain(once(tar), { maxEntries: 1 }), { code: 'EXPORT_TOO_LARGE' });
  });
});
