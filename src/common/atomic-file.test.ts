import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createExclusive, writeAtomic, writeChunksAtomic } from './atomic-file.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'herd-atomic-'));
}

async function* chunksThenFailure(): AsyncGenerator<Uint8Array> {
  yield Buffer.from('half of ');
  throw new Error('the source broke');
}

describe('writeAtomic', () => {
  it('replaces the file whole, mode 0600 unless told, and leaves no temp file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'index.json');
    await writeFile(path, 'old');

    await writeAtomic(path, '{"new":true}');
    await writeAtomic(join(dir, 'herd.lock'), 'lock', { mode: 0o644, sync: true });

    assert.equal(await readFile(path, 'utf8'), '{"new":true}');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'herd.lock'))).mode & 0o077, 0o044 & ~process.umask());
    assert.deepEqual((await readdir(dir)).sort(), ['herd.lock', 'index.json']);
  });
});

describe('writeChunksAtomic', () => {
  it('writes every chunk and returns their size and sha256', async () => {
    const dir = await tempDir();

    const written = await writeChunksAtomic(
      join(dir, 'data.tar'),
      (async function* () {
        yield Buffer.from('abc');
      })(),
    );

    assert.deepEqual(written, {
      size: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
    assert.equal(await readFile(join(dir, 'data.tar'), 'utf8'), 'abc');
  });

  it('leaves nothing at the path, and no temp file, when the chunks fail midway', async () => {
    const dir = await tempDir();

    await assert.rejects(writeChunksAtomic(join(dir, 'data.tar'), chunksThenFailure()), /the source broke/);

    assert.deepEqual(await readdir(dir), []);
  });
});

describe('createExclusive', () => {
  it('creates a missing file with its mode and says so', async () => {
    const dir = await tempDir();

    const created = await createExclusive(join(dir, 'cosign.key'), 'secret', { mode: 0o600 });

    assert.equal(created, true);
    assert.equal(await readFile(join(dir, 'cosign.key'), 'utf8'), 'secret');
    assert.equal((await stat(join(dir, 'cosign.key'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['cosign.key']);
  });

  it('never replaces what is there, not even a dangling link, and leaves no temp file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cosign.key'), 'theirs');
    await symlink(join(dir, 'nowhere'), join(dir, 'link.key'));

    const overFile = await createExclusive(join(dir, 'cosign.key'), 'mine');
    const overLink = await createExclusive(join(dir, 'link.key'), 'mine');

    assert.equal(overFile, false);
    assert.equal(overLink, false);
    assert.equal(await readFile(join(dir, 'cosign.key'), 'utf8'), 'theirs');
    assert.deepEqual((await readdir(dir)).sort(), ['cosign.key', 'link.key']);
  });

  it('lets exactly one of many racing writers create the file', async () => {
    const dir = await tempDir();

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, index) => createExclusive(join(dir, 'claim'), `writer ${index}`)),
    );

    assert.equal(outcomes.filter(Boolean).length, 1);
    assert.equal(await readFile(join(dir, 'claim'), 'utf8'), `writer ${outcomes.indexOf(true)}`);
    assert.deepEqual(await readdir(dir), ['claim']);
  });
});
