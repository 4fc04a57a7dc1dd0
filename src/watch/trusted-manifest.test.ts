import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { attachArtifact } from '../oci/attach-artifact.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type Descriptor, type ImageManifest, MediaType } from '../oci/types.js';
import { collectBuildStatements } from '../trust/build-statements.js';
import { attestImage, signImage } from '../trust/image-signatures.js';
import { inTotoStatement } from '../trust/in-toto-statement.js';
import { WatchError } from './errors.js';
import { trustedImageFiles } from './trusted-image-files.js';
import { loadTrustedBaseline } from './trusted-manifest.js';

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const entries = [
  { path: '/hello.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 6, sha256: 'a'.repeat(64) },
];

describe('loadTrustedBaseline', () => {
  let root: string;
  let store: LayoutStore;
  let image: Descriptor;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-watch-trust-'));
    store = new LayoutStore(root);
    await store.init();
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: await store.putJson(
        { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
        MediaType.imageConfig,
      ),
      layers: [],
      annotations: { 'org.opencontainers.image.title': 'hello' },
    };
    image = await store.putJson(manifest, MediaType.imageManifest);
    await attachArtifact(store, image, {
      artifactType: 'application/vnd.herd.file-manifest.v1+json',
      data: Buffer.from(JSON.stringify({ schemaVersion: 1, entries })),
    });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function signAndAttest() {
    await signImage(store, image.digest, { key: key.privateKey, identity: 'localhost/hello' });
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: await collectBuildStatements(store, image.digest),
    });
  }

  it('reads the file manifest from the attestation herd sign made, once the signature verifies', async () => {
    await signAndAttest();

    const trusted = await loadTrustedBaseline(store, image.digest, { publicKeys: [key.publicKey] });

    assert.equal(trusted.kind, 'trusted');
    assert.deepEqual(trusted.kind === 'trusted' ? [...trusted.baseline.keys()] : [], ['/hello.txt']);
  });

  it('does not trust a manifest signed by a key herd does not trust', async () => {
    await signAndAttest();

    const trusted = await loadTrustedBaseline(store, image.digest, { publicKeys: [otherKey.publicKey] });

    assert.equal(trusted.kind, 'untrusted');
    assert.equal(trusted.kind === 'untrusted' ? trusted.code : '', 'SIGNATURE_INVALID');
  });

  it('does not trust an unsigned image, even with its file manifest attached', async () => {
    const trusted = await loadTrustedBaseline(store, image.digest, { publicKeys: [key.publicKey] });

    assert.equal(trusted.kind === 'untrusted' ? trusted.code : 'trusted', 'SIGNATURE_MISSING');
  });

  it('does not trust a signed image whose attestations hold no file manifest', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity: 'localhost/hello' });
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: [
        inTotoStatement(
          { name: 'hello', digest: image.digest },
          { predicateType: 'urn:herd:gate-verdict:v1', predicate: { passed: true } },
        ),
      ],
    });

    const trusted = await loadTrustedBaseline(store, image.digest, { publicKeys: [key.publicKey] });

    assert.equal(trusted.kind === 'untrusted' ? trusted.code : 'trusted', 'MANIFEST_MISSING');
  });

  it("gives an engine the image's files once they verify, and an error, never an empty list, when they do not", async () => {
    await signAndAttest();

    const trusted = await trustedImageFiles(store, { publicKeys: async () => [key.publicKey] })(image.digest);
    const untrusted = trustedImageFiles(store, { publicKeys: async () => [otherKey.publicKey] })(
      image.digest,
    );

    assert.deepEqual(
      trusted.map((entry) => entry.path),
      ['/hello.txt'],
    );
    await assert.rejects(untrusted, (error: unknown) => {
      assert.ok(error instanceof WatchError, String(error));
      assert.equal(error.code, 'MANIFEST_UNTRUSTED');
      assert.match(error.message, new RegExp(`the file list of ${image.digest} is not trusted`));
      return true;
    });
  });
});
