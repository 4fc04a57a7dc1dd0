import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { plant, plantedKinds } from '../../test/fixtures/planted-files.js';
import { type Digest, LayoutStore, MediaType } from '../oci/index.js';
import { LayerCache } from './layer-cache.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function remembered() {
  const work = await mkdtemp(join(tmpdir(), 'herd-layer-cache-planted-'));
  dirs.push(work);
  const store = new LayoutStore(join(work, 'store'));
  await store.init();
  const tar = Buffer.alloc(2048, 'a');
  const gzipped = gzipSync(tar);
  const descriptor = await store.putBlob(gzipped, MediaType.layerGzip);
  const layer = {
    diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` as Digest,
    size: tar.length,
    encoding: 'gzip-test',
  };
  const cache = new LayerCache(join(work, 'layers'));
  await cache.remember(layer, descriptor);
  return { store, gzipped, descriptor, layer, cache };
}

async function quickly<T>(promise: Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await promise;
  const took = performance.now() - started;
  assert.ok(took < 3000, `took ${Math.round(took)} ms`);
  return result;
}

describe('the layer cache, with something other than a file planted at an entry or its blob', {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`takes ${kind} in place of an entry for none, and remembers a real one over it`, async () => {
      const { store, descriptor, layer, cache } = await remembered();
      const [name] = await readdir(cache.dir);
      const path = join(cache.dir, name ?? '');
      await rm(path);
      const remove = await plant(path, kind);

      const lookup = await quickly(cache.lookup(layer, store));
      await cache.remember(layer, descriptor);
      const again = await cache.lookup(layer, store);
      await remove();

      assert.equal(lookup, undefined);
      assert.deepEqual(again, descriptor);
    });

    it(`takes ${kind} in place of the blob for none, and uses the blob stored again over it`, async () => {
      const { store, gzipped, descriptor, layer, cache } = await remembered();
      const path = store.blobPath(descriptor.digest);
      await rm(path);
      const remove = await plant(path, kind);

      const lookup = await quickly(cache.lookup(layer, store));
      await store.putBlob(gzipped, MediaType.layerGzip);
      const again = await cache.lookup(layer, store);
      await remove();

      assert.equal(lookup, undefined);
      assert.deepEqual(again, descriptor);
    });
  }
});
