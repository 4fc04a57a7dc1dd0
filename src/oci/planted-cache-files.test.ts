/**
 * The store's blobs and the flattened-layer cache against whoever can write HERD_HOME: something
 * other than a file (a FIFO, a socket, a /dev/zero device node, a link to /dev/zero) planted where
 * herd wrote one is refused or replaced at once, never read.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { plant, plantedKinds } from '../../test/fixtures/planted-files.js';
import { CacheSeal } from './cache-seal.js';
import { sha256Digest } from './digest.js';
import { OciError } from './errors.js';
import { flattenLayers } from './flatten-layers.js';
import { FlattenedLayerCache } from './flattened-layer-cache.js';
import { LayoutStore } from './layout-store.js';
import { withStoreLock } from './store-lock.js';
import { writeTar } from './tar.js';
import { type Digest, MediaType } from './types.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function storeWithLayer() {
  const work = await mkdtemp(join(tmpdir(), 'herd-planted-'));
  dirs.push(work);
  const store = new LayoutStore(join(work, 'store'));
  await store.init();
  const data = Buffer.from('root:x:0:0::/root:/sbin/nologin\n');
  const tar = writeTar([
    { path: 'etc/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
    { path: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, data },
  ]);
  const gzipped = gzipSync(tar);
  const layer = await store.putBlob(gzipped, MediaType.layerGzip);
  const cache = new FlattenedLayerCache(join(work, 'flattened'), {
    sealKey: join(work, 'keys', 'seal.key'),
    maxLayerBytes: 1 << 20,
  });
  return { work, store, gzipped, layer, diffId: sha256Digest(tar) as Digest, cache };
}

/** Fails the test when `promise` takes longer than a planted file's refusal should. */
async function quickly<T>(promise: Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await promise;
  } finally {
    const took = performance.now() - started;
    assert.ok(took < 3000, `took ${Math.round(took)} ms`);
  }
}

describe('the store, with something other than a file planted at a blob', { timeout: 20_000 }, () => {
  for (const kind of plantedKinds) {
    it(`refuses ${kind} as a tampered blob, names it, and stores the real blob over it`, async () => {
      const { store, gzipped, layer } = await storeWithLayer();
      const path = store.blobPath(layer.digest);
      await rm(path);
      const remove = await plant(path, kind);

      await assert.rejects(quickly(store.getBlob(layer.digest)), (error: unknown) => {
        assert.ok(error instanceof OciError);
        assert.equal(error.code, 'DIGEST_MISMATCH');
        assert.equal(
          error.message,
          `blob ${layer.digest} in the store at ${store.root} is corrupt or tampered: it is ${kind}, not a regular file`,
        );
        return true;
      });
      assert.equal(await store.hasBlob(layer.digest), false);
      await store.putBlob(gzipped, MediaType.layerGzip);
      await remove();

      assert.deepEqual(await store.getBlob(layer.digest), gzipped);
    });
  }
});

describe('the flattened-layer cache, with something other than a file planted at an entry', {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`derives the layer again when its index is ${kind}, and renames a real one over it`, async () => {
      const { store, layer, diffId, cache } = await storeWithLayer();
      await cache.layer(store, layer, diffId);
      const path = join(cache.dir, `${diffId.slice('sha256:'.length)}.index`);
      await rm(path);
      const remove = await plant(path, kind);

      const again = await quickly(cache.layer(store, layer, diffId));
      const then = await cache.layer(store, layer, diffId);
      await remove();

      assert.equal(again.source, 'derived');
      assert.equal(then.source, 'hit');
    });

    it(`refuses with CACHE_TAMPERED a content file that is ${kind}, naming the layer, the file and the path`, async () => {
      const { store, layer, diffId, cache } = await storeWithLayer();
      const passwd = flattenLayers([await cache.layer(store, layer, diffId)]).get('/etc/passwd');
      assert.ok(passwd?.content);
      const path = join(cache.dir, `${diffId.slice('sha256:'.length)}.content`);
      await rm(path);
      const remove = await plant(path, kind);

      await assert.rejects(
        quickly(cache.read(passwd.content, passwd.size, passwd.path)),
        (error: unknown) => {
          assert.ok(error instanceof OciError);
          assert.equal(error.code, 'CACHE_TAMPERED');
          assert.match(
            error.message,
            new RegExp(
              `/etc/passwd in layer ${diffId} cannot be read \\(${path} is ${kind}, not a regular file\\)`,
            ),
          );
          return true;
        },
      );
      await cache.close();
      await remove();
    });
  }
});

describe('the cache seal key, with something other than a file planted in its place', {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`refuses ${kind} with CACHE_KEY_INVALID naming the path, without reading it`, async () => {
      const work = await mkdtemp(join(tmpdir(), 'herd-planted-key-'));
      dirs.push(work);
      const path = join(work, 'cache-seal.key');
      const remove = await plant(path, kind);

      await assert.rejects(quickly(CacheSeal.open(path)), (error: unknown) => {
        assert.ok(error instanceof OciError);
        assert.equal(error.code, 'CACHE_KEY_INVALID');
        assert.match(
          error.message,
          new RegExp(`^the cache seal key ${path} is ${kind}, not a regular file; delete it`),
        );
        return true;
      });
      await remove();
    });
  }
});

describe("the store's index.json and referrers.json, with something other than a file in their place", {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`refuses ${kind} as index.json with LAYOUT_INVALID naming it, and rebuilds referrers.json over one`, async () => {
      const { store, layer } = await storeWithLayer();
      const index = join(store.root, 'index.json');
      const saved = await store.readIndex();
      await rm(index);
      const remove = await plant(index, kind);

      await assert.rejects(quickly(store.readIndex()), (error: unknown) => {
        assert.ok(error instanceof OciError);
        assert.equal(error.code, 'LAYOUT_INVALID');
        assert.match(error.message, new RegExp(`${index} is ${kind}, not a regular file`));
        return true;
      });
      await remove();
      await writeFile(index, JSON.stringify(saved));
      const referrers = join(store.root, 'referrers.json');
      await rm(referrers, { force: true });
      const removeReferrers = await plant(referrers, kind);

      assert.deepEqual(await quickly(store.referrers(layer.digest)), []);
      await removeReferrers();
    });
  }
});

describe("the store's write lock, with something other than a file at its path", { timeout: 20_000 }, () => {
  for (const kind of plantedKinds) {
    it(`takes over ${kind} as no writer's lock, at once`, async () => {
      const work = await mkdtemp(join(tmpdir(), 'herd-planted-lock-'));
      dirs.push(work);
      const lockPath = join(work, 'store.lock');
      const remove = await plant(lockPath, kind);

      const done = await quickly(withStoreLock(lockPath, async () => 'written', { timeoutMs: 5000 }));
      await remove();

      assert.equal(done, 'written');
    });
  }
});
