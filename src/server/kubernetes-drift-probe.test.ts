import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachArtifact, type Descriptor, LayoutStore, MediaType } from '../oci/index.js';
import { attestImage, collectBuildStatements, signImage } from '../trust/index.js';
import { WatchError } from '../watch/index.js';
import { kubernetesDriftProbe } from './kubernetes-drift-probe.js';

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('kubernetesDriftProbe', () => {
  let root: string;
  let store: LayoutStore;
  let probe: Descriptor;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-drift-probe-wiring-'));
    store = new LayoutStore(root);
    await store.init();
    const config = await store.putJson(
      { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
      MediaType.imageConfig,
    );
    probe = await store.putJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] },
      MediaType.imageManifest,
    );
    const entries = [
      {
        path: '/opt/herd/drift-probe.mjs',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 1,
        sha256: 'a'.repeat(64),
      },
    ];
    await attachArtifact(store, probe, {
      artifactType: 'application/vnd.herd.file-manifest.v1+json',
      data: Buffer.from(JSON.stringify({ schemaVersion: 1, entries })),
    });
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a probe image whose file manifest no trusted key signed, naming its digest', async () => {
    await assert.rejects(
      kubernetesDriftProbe({
        store,
        digest: probe.digest,
        registry: '127.0.0.1:5001',
        publicKeys: async () => [key.publicKey],
      }),
      (error: unknown) => {
        assert.ok(error instanceof WatchError, String(error));
        assert.equal(error.code, 'MANIFEST_UNTRUSTED');
        assert.match(error.message, new RegExp(probe.digest));
        return true;
      },
    );
  });

  it("gives the engine the signed probe by digest from herd's registry, and the trusted file lists", async () => {
    await signImage(store, probe.digest, { key: key.privateKey, identity: 'localhost/herd-drift-probe' });
    await attestImage(store, probe.digest, {
      key: key.privateKey,
      statements: await collectBuildStatements(store, probe.digest),
    });

    const options = await kubernetesDriftProbe({
      store,
      digest: probe.digest,
      registry: '127.0.0.1:5001',
      publicKeys: async () => [key.publicKey],
    });

    assert.deepEqual(options.image, {
      digest: probe.digest,
      imageRef: `127.0.0.1:5001/herd-drift-probe@${probe.digest}`,
    });
    assert.deepEqual(
      (await options.imageFiles(probe.digest)).map((entry) => entry.path),
      ['/opt/herd/drift-probe.mjs'],
    );
  });
});
