/**
 * /v2/ may be open to anyone who reaches the port (no --v2-auth), so it must not hand out what
 * only the fleet API's incidents:read may see: drift evidence, stored as a referrer of the image
 * it was found in, beside the SBOMs and signatures /v2/ does serve.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { attachArtifact } from '../../oci/attach-artifact.js';
import { LayoutStore } from '../../oci/layout-store.js';
import { type ImageIndex, type ImageManifest, MediaType } from '../../oci/types.js';
import { driftEvidenceArtifactType } from '../../watch/evidence.js';
import { createApp } from '../app.js';

describe('/v2/ and drift evidence', () => {
  it('lists, serves and names none of it, while other referrers of the image stay served', async () => {
    const store = new LayoutStore(await mkdtemp(join(tmpdir(), 'herd-v2-evidence-')));
    await store.init();
    const config = await store.putBlob(
      Buffer.from('{"architecture":"amd64","os":"linux"}'),
      MediaType.imageConfig,
    );
    const image: ImageManifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] };
    const subject = await store.putJson(image, MediaType.imageManifest);
    await store.addManifest(subject, { refName: 'hello:0.1.0' });
    const sbom = await attachArtifact(store, subject, {
      artifactType: 'application/spdx+json',
      data: Buffer.from('{"spdxVersion":"SPDX-2.3"}'),
    });
    const evidence = await attachArtifact(store, subject, {
      artifactType: driftEvidenceArtifactType,
      data: Buffer.from('{"processes":[{"cmdline":"worker --password=hunter2-in-evidence"}]}'),
    });
    const evidenceLayer = (await store.getManifest(evidence.digest)).layers[0]!.digest;
    const app = createApp({ store });
    const get = (path: string) =>
      app.request(path, {}, { connection: { transport: 'tcp', remoteAddress: '127.0.0.1' } });

    const listed = (await (await get(`/v2/hello/referrers/${subject.digest}`)).json()) as ImageIndex;
    const byType = (await (
      await get(
        `/v2/hello/referrers/${subject.digest}?artifactType=${encodeURIComponent(driftEvidenceArtifactType)}`,
      )
    ).json()) as ImageIndex;
    const manifest = await get(`/v2/hello/manifests/${evidence.digest}`);
    const blob = await get(`/v2/hello/blobs/${evidenceLayer}`);
    const sbomManifest = await get(`/v2/hello/manifests/${sbom.digest}`);

    assert.deepEqual(
      listed.manifests.map((m) => m.digest),
      [sbom.digest],
    );
    assert.deepEqual(byType.manifests, []);
    assert.equal(manifest.status, 404);
    assert.equal(blob.status, 404);
    assert.ok(!(await blob.text()).includes('hunter2'));
    assert.equal(sbomManifest.status, 200);
  });
});
