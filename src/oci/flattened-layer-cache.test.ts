import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from './digest.js';
import { OciError } from './errors.js';
import { flattenLayers, type RootfsNode } from './flatten-layers.js';
import { FlattenedLayerCache } from './flattened-layer-cache.js';
import { LayoutStore } from './layout-store.js';
import { readTar, type TarEntry, writeTar } from './tar.js';
import { type Descriptor, type Digest, MediaType } from './types.js';

const entry = (path: string, fields: Partial<TarEntry> = {}): TarEntry => {
  const type = fields.type ?? (path.endsWith('/') ? 'dir' : 'file');
  const data = type === 'file' ? (fields.data ?? Buffer.from(`bytes of ${path}\n`)) : undefined;
  return {
    path,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: data?.length ?? 0,
    mtime: 0,
    ...(data ? { data } : {}),
    ...fields,
  };
};

const entries: TarEntry[] = [
  entry('etc/'),
  entry('etc/passwd', { data: Buffer.from('root:x:0:0::/root:/sbin/nologin\n') }),
  entry('usr/'),
  entry('usr/bin/'),
  entry('usr/bin/tool', { mode: 0o4755, data: Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(64)]) }),
  entry('usr/bin/tool2', { type: 'hardlink', linkname: 'usr/bin/tool', mode: 0o4755, size: 0 }),
  entry('usr/lib/', { uid: 7, gid: 8 }),
  entry('usr/lib/empty'),
  entry('bin', { type: 'symlink', linkname: 'usr/bin', mode: 0o777 }),
];
entries[7] = entry('usr/lib/empty', { data: Buffer.alloc(0) });

async function gzipLayer(store: LayoutStore, tar: Buffer): Promise<{ layer: Descriptor; diffId: Digest }> {
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  return { layer, diffId: sha256Digest(tar) as Digest };
}

function metadataOf(node: RootfsNode) {
  const { data: _data, content: _content, ...rest } = node;
  return rest;
}

describe('the flattened-layer cache', () => {
  let store: LayoutStore;
  let work: string;
  let tar: Buffer;
  let layer: Descriptor;
  let diffId: Digest;
  const cacheIn = (dir: string) =>
    new FlattenedLayerCache(join(work, dir), {
      sealKey: join(work, 'keys', 'seal.key'),
      maxLayerBytes: 1 << 20,
    });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-flattened-'));
    store = new LayoutStore(join(work, 'store'));
    await store.init();
    tar = writeTar(entries);
    ({ layer, diffId } = await gzipLayer(store, tar));
  });

  it('gives the same files as the in-memory reader, from the blob first and from its sealed index after', async () => {
    const cache = cacheIn('same');

    const first = await cache.layer(store, layer, diffId);
    const second = await cache.layer(store, layer, diffId);

    assert.equal(first.source, 'derived');
    assert.equal(second.source, 'hit');
    const held = flattenLayers([{ digest: diffId, entries: readTar(tar) }]);
    const cached = flattenLayers([second]);
    assert.deepEqual([...cached.values()].map(metadataOf), [...held.values()].map(metadataOf));
    for (const node of cached.values()) {
      if (node.type !== 'file') continue;
      assert.ok(node.content, `${node.path} has no content ref`);
      assert.deepEqual(await cache.read(node.content, node.size, node.path), held.get(node.path)?.data);
    }
    await cache.close();
    assert.equal(cached.get('/usr/bin/tool')?.content?.binary, true);
    assert.equal(cached.get('/etc/passwd')?.content?.binary, false);
  });

  it('keeps its files private: 0600 in a 0700 folder', async () => {
    const cache = cacheIn('private');

    await cache.layer(store, layer, diffId);

    assert.equal((await stat(cache.dir)).mode & 0o777, 0o700);
    const names = await readdir(cache.dir);
    assert.deepEqual(names.map((name) => name.replace(/^[0-9a-f]{64}/, '<hex>')).sort(), [
      '<hex>.content',
      '<hex>.index',
    ]);
    for (const name of names) assert.equal((await stat(join(cache.dir, name))).mode & 0o777, 0o600, name);
  });

  it('refuses with CACHE_TAMPERED, naming the layer and the file, bytes changed in the content file', async () => {
    const cache = cacheIn('content-tampered');
    const cached = flattenLayers([await cache.layer(store, layer, diffId)]);
    const passwd = cached.get('/etc/passwd');
    assert.ok(passwd?.content);
    const contentFile = join(cache.dir, `${diffId.slice(7)}.content`);
    const bytes = await readFile(contentFile);
    bytes.write('toor', passwd.content.offset);
    await writeFile(contentFile, bytes);

    await assert.rejects(cache.read(passwd.content, passwd.size, passwd.path), (error: unknown) => {
      assert.ok(error instanceof OciError);
      assert.equal(error.code, 'CACHE_TAMPERED');
      assert.match(error.message, new RegExp(`/etc/passwd in layer ${diffId}`));
      return true;
    });
    await cache.close();
  });

  it('derives an entry again from the verified blob when its index was edited (a setuid bit removed)', async () => {
    const cache = cacheIn('index-tampered');
    await cache.layer(store, layer, diffId);
    const indexFile = join(cache.dir, `${diffId.slice(7)}.index`);
    const text = await readFile(indexFile, 'utf8');
    const setuid = String(0o4755);
    assert.ok(text.includes(`"mode":${setuid}`));
    await writeFile(indexFile, text.replaceAll(`"mode":${setuid}`, `"mode":${0o755}`));

    const again = await cache.layer(store, layer, diffId);

    assert.equal(again.source, 'derived');
    assert.equal(flattenLayers([again]).get('/usr/bin/tool')?.mode, 0o4755);
    assert.equal((await cache.layer(store, layer, diffId)).source, 'hit');
  });

  it('does not take a sealed index of one layer as another layer’s', async () => {
    const cache = cacheIn('swapped');
    const other = await gzipLayer(store, writeTar([entry('etc/'), entry('etc/motd')]));
    await cache.layer(store, layer, diffId);
    await cache.layer(store, other.layer, other.diffId);
    const otherIndex = await readFile(join(cache.dir, `${other.diffId.slice(7)}.index`));
    await writeFile(join(cache.dir, `${diffId.slice(7)}.index`), otherIndex);

    const again = await cache.layer(store, layer, diffId);

    assert.equal(again.source, 'derived');
    assert.ok(flattenLayers([again]).has('/etc/passwd'));
  });

  it('fails with DIGEST_MISMATCH naming the layer when its blob does not uncompress to the diff_id', async () => {
    const cache = cacheIn('mismatch');
    const wrong = sha256Digest('another layer') as Digest;

    await assert.rejects(cache.layer(store, layer, wrong), (error: unknown) => {
      assert.ok(error instanceof OciError);
      assert.equal(error.code, 'DIGEST_MISMATCH');
      assert.match(error.message, new RegExp(`layer ${layer.digest} uncompresses to ${diffId}`));
      return true;
    });
    assert.deepEqual(await readdir(cache.dir), []);
  });

  it('fails with DIGEST_MISMATCH and caches nothing when the blob was changed on disk', async () => {
    const cache = cacheIn('blob-changed');
    const changedTar = writeTar([entry('etc/'), entry('etc/motd')]);
    const changed = await gzipLayer(store, changedTar);
    await writeFile(store.blobPath(changed.layer.digest), gzipSync(writeTar([entry('etc/')])));

    await assert.rejects(cache.layer(store, changed.layer, changed.diffId), (error: unknown) => {
      assert.ok(error instanceof OciError);
      assert.equal(error.code, 'DIGEST_MISMATCH');
      assert.match(error.message, new RegExp(`blob ${changed.layer.digest}`));
      return true;
    });
    assert.deepEqual(await readdir(cache.dir), []);
  });

  it('does not let a cached diff_id stand in for another blob an image config pairs with it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'herd-flat-swap-'));
    const store = new LayoutStore(join(work, 'store'));
    await store.init();
    const cleanTar = writeTar([
      entry('etc/passwd', { data: Buffer.from('root:x:0:0::/root:/sbin/nologin\n') }),
    ]);
    const hostileTar = writeTar([entry('etc/passwd', { data: Buffer.from('root::0:0::/root:/bin/sh\n') })]);
    const clean = await store.putBlob(gzipSync(cleanTar), MediaType.layerGzip);
    const hostile = await store.putBlob(gzipSync(hostileTar), MediaType.layerGzip);
    const cleanDiffId = sha256Digest(cleanTar) as Digest;
    const cache = new FlattenedLayerCache(join(work, 'flattened'), {
      sealKey: join(work, 'keys', 'seal.key'),
      maxLayerBytes: 1 << 20,
    });

    await cache.layer(store, clean, cleanDiffId);
    // An image whose config claims the clean layer's diff_id for its hostile blob is checked, not a hit.
    await assert.rejects(cache.layer(store, hostile, cleanDiffId), { code: 'DIGEST_MISMATCH' });
    assert.equal((await cache.layer(store, clean, cleanDiffId)).source, 'hit');
  });
});
