import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LayoutStore, quarantineReasonAnnotation, refNameAnnotation } from './layout-store.js';
import { MediaType } from './types.js';

async function storeWithImage() {
  const store = new LayoutStore(await mkdtemp(join(tmpdir(), 'herd-layout-')));
  await store.init();
  const image = await store.putJson({ schemaVersion: 2, layers: [] }, MediaType.imageManifest);
  return { store, image };
}

describe('LayoutStore quarantine', () => {
  it('keeps a quarantined image in the index without a name', async () => {
    const { store, image } = await storeWithImage();

    await store.quarantine(image, { intendedName: 'web:1', reason: 'not-gated' });

    await assert.rejects(store.resolve('web:1'), { code: 'REF_NOT_FOUND' });
    assert.equal(await store.resolve(image.digest), image.digest);
    assert.deepEqual(await store.quarantined(image.digest), {
      digest: image.digest,
      reason: 'not-gated',
      intendedName: 'web:1',
    });
  });

  it('takes the name away from an image that had it', async () => {
    const { store, image } = await storeWithImage();
    await store.addManifest(image, { refName: 'web:1' });

    await store.quarantine(image, { intendedName: 'web:1', reason: 'gate-failed' });

    await assert.rejects(store.resolve('web:1'), { code: 'REF_NOT_FOUND' });
    const [entry] = (await store.readIndex()).manifests;
    assert.equal(entry?.annotations?.[refNameAnnotation], undefined);
  });

  it('names an image and drops its quarantine record, moving the name from an older image', async () => {
    const { store, image } = await storeWithImage();
    const older = await store.putJson({ schemaVersion: 2, layers: [], older: true }, MediaType.imageManifest);
    await store.addManifest(older, { refName: 'web:1' });
    await store.quarantine(image, { intendedName: 'web:1', reason: 'not-gated' });

    await store.nameImage(image.digest, 'web:1');

    assert.equal(await store.resolve('web:1'), image.digest);
    assert.equal(await store.quarantined(image.digest), undefined);
    const index = await store.readIndex();
    assert.equal(index.manifests.length, 2, 'the older image stays (it may be released or running)');
    assert.ok(index.manifests.every((m) => m.annotations?.[quarantineReasonAnnotation] === undefined));
  });

  it('refuses to name an image that is not in the index', async () => {
    const { store, image } = await storeWithImage();

    await assert.rejects(store.nameImage(image.digest, 'web:1'), { code: 'REF_NOT_FOUND' });
  });
});
