/**
 * The run template from the build's referrer to admission, on a real layout store with real
 * signatures: herd sign attests it, checkAdmission compares a rollout's template with it.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { attachArtifact } from '../oci/attach-artifact.js';
import { sha256Digest } from '../oci/digest.js';
import { fileManifestMediaType } from '../oci/file-manifest-format.js';
import { LayoutStore } from '../oci/layout-store.js';
import { writeTar } from '../oci/tar.js';
import { type Descriptor, type ImageManifest, MediaType } from '../oci/types.js';
import { type RunTemplate, runTemplateMediaType } from '../specfile/run-template.js';
import { checkAdmission } from './admission.js';
import {
  collectBuildStatements,
  gateVerdictStatement,
  runTemplatePredicateType,
} from './build-statements.js';
import { TrustError } from './errors.js';
import { attestImage, signImage } from './image-signatures.js';

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const built: RunTemplate = {
  version: 1,
  user: { uid: 65532, gid: 65532 },
  writable: ['/tmp'],
  writableRoot: false,
  capabilities: [],
  ports: [{ port: 8080, protocol: 'tcp' }],
  entrypoint: ['/usr/bin/server'],
  cmd: [],
  env: ['GREETING'],
};

/** A one-layer image named hello, with a file manifest attached as herd build does. */
async function writeImage(store: LayoutStore): Promise<Descriptor> {
  const data = Buffer.from('server\n');
  const tar = writeTar([
    { path: 'server', type: 'file', mode: 0o755, uid: 0, gid: 0, size: data.length, mtime: 0, data },
  ]);
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
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config,
    layers: [layer],
    annotations: { 'org.opencontainers.image.title': 'hello' },
  };
  const image = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(image, { refName: 'hello:1' });
  await attach(store, image, fileManifestMediaType, {
    schemaVersion: 1,
    mediaType: fileManifestMediaType,
    entries: [],
  });
  return image;
}

async function attach(store: LayoutStore, image: Descriptor, artifactType: string, document: unknown) {
  await attachArtifact(store, image, { artifactType, data: Buffer.from(JSON.stringify(document)) });
}

/** What herd sign does: sign for localhost/hello, attest the build's statements and a passing verdict. */
async function sign(store: LayoutStore, image: Descriptor): Promise<void> {
  const verdict = {
    image: image.digest,
    passed: true,
    profile: 'strict',
    evaluatedAt: '2026-01-01T00:00:00Z',
  };
  await signImage(store, image.digest, { key: key.privateKey, identity: 'localhost/hello' });
  const statements = [
    ...(await collectBuildStatements(store, image.digest)),
    await gateVerdictStatement(store, image.digest, verdict),
  ];
  await attestImage(store, image.digest, { key: key.privateKey, statements, replace: true });
}

describe('the run template signed with an image', () => {
  let root: string;
  let store: LayoutStore;
  let image: Descriptor;
  const admission = (template: RunTemplate | undefined) =>
    checkAdmission(
      {
        store,
        publicKeys: [key.publicKey],
        catalog: {
          stageOf: () => 'candidate',
          revocation: () => undefined,
          inconsistency: async () => undefined,
        },
      },
      { service: 'hello', digest: image.digest, template },
    );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-run-template-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is attested by herd sign as urn:herd:run-template:v1', async () => {
    await attach(store, image, runTemplateMediaType, built);

    const statements = await collectBuildStatements(store, image.digest);

    const [attested] = statements.filter((one) => one.predicateType === runTemplatePredicateType);
    assert.deepEqual(attested?.predicate, built);
  });

  it('admits a rollout of the template it was built with', async () => {
    await attach(store, image, runTemplateMediaType, built);
    await sign(store, image);

    const decision = await admission(built);

    assert.equal(decision.admitted, true, JSON.stringify(decision));
  });

  it('refuses a rollout as another user or with /var/cache/app writable, naming the fields', async () => {
    await attach(store, image, runTemplateMediaType, built);
    await sign(store, image);

    const asRoot = await admission({ ...built, user: { uid: 0, gid: 0 } });
    const moreWritable = await admission({ ...built, writable: ['/tmp', '/var/cache/app'] });

    assert.deepEqual(asRoot.admitted ? undefined : asRoot.code, 'TEMPLATE_MISMATCH');
    assert.match(asRoot.admitted ? '' : asRoot.reason, /user: signed 65532:65532, requested 0:0/);
    assert.match(moreWritable.admitted ? '' : moreWritable.reason, /\(writable\)/);
  });

  it('refuses an image signed without a run template, and a template attached after signing', async () => {
    await sign(store, image);
    const unsigned = await admission(built);
    // An attacker who can write the store attaches a template of their own: no key vouched for it.
    await attach(store, image, runTemplateMediaType, { ...built, writable: ['/tmp', '/srv'] });

    const stillUnsigned = await admission({ ...built, writable: ['/tmp', '/srv'] });

    assert.equal(unsigned.admitted ? undefined : unsigned.code, 'TEMPLATE_UNATTESTED');
    assert.match(unsigned.admitted ? '' : unsigned.reason, /sign it again/);
    assert.equal(stillUnsigned.admitted ? undefined : stillUnsigned.code, 'TEMPLATE_UNATTESTED');
  });

  it('refuses to sign a run template with a writable system folder', async () => {
    await attach(store, image, runTemplateMediaType, { ...built, writable: ['/usr'] });

    await assert.rejects(
      collectBuildStatements(store, image.digest),
      (error: unknown) =>
        error instanceof TrustError && error.code === 'ATTESTATION_INVALID' && /"\/usr"/.test(error.message),
    );
  });

  it('refuses to sign a run template of a version herd does not read', async () => {
    await attach(store, image, runTemplateMediaType, { ...built, version: 2 });

    await assert.rejects(collectBuildStatements(store, image.digest), /has version 2, expected 1/);
  });

  it('refuses two run templates attached to one image', async () => {
    await attach(store, image, runTemplateMediaType, built);
    await attach(store, image, runTemplateMediaType, { ...built, writable: ['/tmp', '/srv'] });

    await assert.rejects(
      collectBuildStatements(store, image.digest),
      (error: unknown) =>
        error instanceof TrustError && /2 run templates attached, expected at most 1/.test(error.message),
    );
  });
});
