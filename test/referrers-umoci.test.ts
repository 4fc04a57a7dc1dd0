/**
 * Referrers survive OCI layout tools: `umoci gc` deletes every blob that index.json does not reach,
 * so a store whose SBOMs and provenance were listed only in herd's own referrers.json lost them all.
 * The store here holds a real image (gzip layer, config, manifest) with herd's documents attached.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { access, cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { artifactTypes } from '../src/builder/build-image.js';
import { attachArtifact } from '../src/oci/attach-artifact.js';
import { sha256Digest } from '../src/oci/digest.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import { MediaType } from '../src/oci/types.js';
import { requireTool } from './support/podman.js';

async function storeWithDocuments() {
  const store = new LayoutStore(await mkdtemp(join(tmpdir(), 'herd-umoci-')));
  await store.init();
  // An empty tar (two zero blocks) is a valid layer.
  const tar = Buffer.alloc(1024);
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const config = await store.putJson(
    {
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
    },
    MediaType.imageConfig,
  );
  const image = await store.putJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [layer] },
    MediaType.imageManifest,
  );
  await store.addManifest(image, { refName: 'hello:0.1.0' });
  const attached = [];
  for (const artifactType of [artifactTypes.spdx, artifactTypes.cyclonedx, artifactTypes.provenance]) {
    attached.push(
      await attachArtifact(store, image, {
        artifactType,
        data: Buffer.from(JSON.stringify({ document: artifactType })),
      }),
    );
  }
  return { store, image, attached };
}

describe('referrers and umoci gc', () => {
  it('keeps every SBOM and the provenance when umoci collects garbage on a copy of the store', async () => {
    requireTool('umoci', 'umoci');
    const { store, image, attached } = await storeWithDocuments();
    const garbage = await store.putBlob(Buffer.from('nothing refers to this'), 'application/octet-stream');
    const copy = join(await mkdtemp(join(tmpdir(), 'herd-umoci-copy-')), 'store');
    await cp(store.root, copy, { recursive: true });

    const gc = spawnSync('umoci', ['gc', '--layout', copy], { encoding: 'utf8' });

    assert.equal(gc.status, 0, gc.stderr);
    const copied = new LayoutStore(copy);
    await assert.rejects(
      access(copied.blobPath(garbage.digest)),
      'umoci gc ran: the unreferenced blob is gone',
    );
    assert.deepEqual(await copied.referrers(image.digest), attached);
    for (const descriptor of attached) {
      const manifest = await copied.getManifest(descriptor.digest);
      assert.equal(manifest.subject?.digest, image.digest);
      for (const blob of [manifest.config, ...manifest.layers]) await copied.getBlob(blob.digest);
    }
  });
});
