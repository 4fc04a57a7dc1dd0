import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { attachArtifact } from './attach-artifact.js';
import {
  isReferrerEntry,
  LayoutStore,
  quarantineReasonAnnotation,
  referrerSubjectAnnotation,
  refNameAnnotation,
} from './layout-store.js';
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

describe('LayoutStore referrers', () => {
  const sbomType = 'application/spdx+json';

  async function storeWithReferrer() {
    const { store, image } = await storeWithImage();
    await store.addManifest(image, { refName: 'web:1' });
    const sbom = await attachArtifact(store, image, { artifactType: sbomType, data: Buffer.from('{}') });
    return { store, image, sbom };
  }

  it('lists a referrer in index.json, unnamed and marked with its subject, so layout tools keep it', async () => {
    const { store, image, sbom } = await storeWithReferrer();

    const entry = (await store.readIndex()).manifests.find((m) => m.digest === sbom.digest);

    assert.ok(entry, 'the SBOM manifest is an entry of index.json');
    assert.equal(entry.annotations?.[refNameAnnotation], undefined);
    assert.equal(entry.annotations?.[referrerSubjectAnnotation], image.digest);
    assert.equal(entry.artifactType, sbomType);
    assert.equal(isReferrerEntry(entry), true);
    assert.deepEqual(await store.referrers(image.digest), [sbom]);
  });

  it('rebuilds referrers.json when it is missing or not JSON', async () => {
    const { store, image, sbom } = await storeWithReferrer();

    await rm(join(store.root, 'referrers.json'));
    assert.deepEqual(await store.referrers(image.digest), [sbom]);

    await writeFile(join(store.root, 'referrers.json'), '{not json');
    assert.deepEqual(await store.referrers(image.digest), [sbom]);
    const cache = JSON.parse(await readFile(join(store.root, 'referrers.json'), 'utf8'));
    assert.deepEqual(cache.referrers[image.digest], [sbom]);
  });

  it('does not trust a cache made from another index.json', async () => {
    const { store, image, sbom } = await storeWithReferrer();
    // A stale cache that names a referrer index.json no longer has.
    const cache = JSON.parse(await readFile(join(store.root, 'referrers.json'), 'utf8'));
    cache.referrers[image.digest].push({ ...sbom, digest: `sha256:${'e'.repeat(64)}` });
    await writeFile(join(store.root, 'referrers.json'), JSON.stringify(cache));
    // Another tool rewrites index.json in its own format (as umoci gc does).
    const index = await store.readIndex();
    await writeFile(join(store.root, 'index.json'), JSON.stringify(index, null, 2));

    assert.deepEqual(await store.referrers(image.digest), [sbom]);
  });

  it("reads an artifact another tool put in index.json by its manifest's subject", async () => {
    const { store, image } = await storeWithImage();
    const config = await store.putBlob(Buffer.from('{}'), MediaType.empty);
    const manifest = await store.putJson(
      {
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType: sbomType,
        config,
        layers: [],
        subject: image,
      },
      MediaType.imageManifest,
    );
    const index = await store.readIndex();
    const entry = { ...manifest, artifactType: sbomType };
    await writeFile(join(store.root, 'index.json'), JSON.stringify({ ...index, manifests: [entry] }));

    assert.deepEqual(await store.referrers(image.digest), [entry]);
  });

  it('moves the referrers of a store written before they were in index.json into it', async () => {
    const { store, image } = await storeWithImage();
    const sbom = { mediaType: MediaType.imageManifest, digest: `sha256:${'b'.repeat(64)}`, size: 9 };
    await writeFile(join(store.root, 'referrers.json'), JSON.stringify({ [image.digest]: [sbom] }));

    assert.deepEqual(await store.referrers(image.digest), [sbom]);
    const entry = (await store.readIndex()).manifests.find((m) => m.digest === sbom.digest);
    assert.equal(entry?.annotations?.[referrerSubjectAnnotation], image.digest);
  });

  it('resolves a digest prefix to the image, not to a referrer that shares it', async () => {
    const { store, image } = await storeWithImage();
    await store.addManifest(image, { refName: 'web:1' });
    const hex = image.digest.slice('sha256:'.length);
    const lookalike = {
      mediaType: MediaType.imageManifest,
      digest: `sha256:${hex.slice(0, 6)}${'0'.repeat(58)}` as const,
      size: 1,
    };
    await store.addReferrer(image.digest, { ...lookalike, artifactType: sbomType });

    assert.equal(await store.resolve(hex.slice(0, 6)), image.digest);
  });
});
