import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { attachArtifact } from '../oci/attach-artifact.js';
import { hexOf, sha256Digest } from '../oci/digest.js';
import { LayoutStore, refNameAnnotation } from '../oci/layout-store.js';
import { writeTar } from '../oci/tar.js';
import {
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageManifest,
  MediaType,
} from '../oci/types.js';
import {
  collectBuildStatements,
  cycloneDxPredicateType,
  fileManifestPredicateType,
  spdxPredicateType,
} from './build-statements.js';
import { TrustError } from './errors.js';
import { attestImage, signImage, verifyImage } from './image-signatures.js';
import { inTotoStatement } from './in-toto-statement.js';
import {
  cosignConfigBlob,
  signatureAnnotation,
  signatureTag,
  verifySignatureManifest,
} from './signature-manifest.js';
import { signPayload, simpleSigningMediaType, simpleSigningPayload } from './simple-signing.js';

const identity = '127.0.0.1:5000/team/hello';
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A config, one gzip layer holding /hello.txt, and a manifest, written by hand. */
async function writeTinyImage(
  store: LayoutStore,
  text = 'hello\n',
): Promise<{ digest: Digest; descriptor: Descriptor; manifest: ImageManifest }> {
  const data = Buffer.from(text);
  const tar = writeTar([
    { path: 'hello.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, data },
  ]);
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers: [layer],
    annotations: { 'org.opencontainers.image.title': 'hello' },
  };
  const descriptor = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(descriptor, { refName: `hello:${text.trim()}` });
  return { digest: descriptor.digest, descriptor, manifest };
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TrustError, `expected a TrustError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

async function signatureManifestOf(store: LayoutStore, digest: Digest): Promise<ImageManifest> {
  return store.getManifest(await store.resolve(signatureTag(digest)));
}

/** Rewrites a blob file in place, as an attacker with write access to the store would. */
async function tamper(store: LayoutStore, digest: Digest, edit: (bytes: Buffer) => Buffer): Promise<void> {
  const path = store.blobPath(digest);
  await writeFile(path, edit(await readFile(path)));
}

describe('signImage', () => {
  let root: string;
  let store: LayoutStore;
  let image: Awaited<ReturnType<typeof writeTinyImage>>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeTinyImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores a cosign .sig manifest: one simple signing layer, the signature annotation, cosign’s config', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });

    const index = await store.readIndex();
    const named = index.manifests.find(
      (m) => m.annotations?.[refNameAnnotation] === `sha256-${hexOf(image.digest)}.sig`,
    );
    const manifest = await signatureManifestOf(store, image.digest);
    const layer = manifest.layers[0];
    assert.ok(named && layer);
    assert.equal(named.mediaType, MediaType.imageManifest);
    assert.equal(manifest.mediaType, MediaType.imageManifest);
    assert.equal(manifest.config.mediaType, MediaType.imageConfig);
    assert.equal(
      (await store.getBlob(manifest.config.digest)).toString(),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${layer.digest}"]},"config":{}}`,
    );
    assert.equal(manifest.layers.length, 1);
    assert.equal(layer.mediaType, simpleSigningMediaType);
    assert.deepEqual(
      await store.getBlob(layer.digest),
      simpleSigningPayload({ dockerReference: identity, manifestDigest: image.digest }),
    );
    assert.ok(layer.annotations?.[signatureAnnotation]);
  });

  it('appends a layer for a second signer and keeps the first', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });

    const second = await signImage(store, image.digest, { key: otherKey.privateKey, identity });

    const manifest = await signatureManifestOf(store, image.digest);
    assert.equal(second.added.length, 1);
    assert.equal(manifest.layers.length, 2);
    assert.equal(
      (await verifyImage(store, image.digest, { publicKeys: [key.publicKey] })).signatures.length,
      1,
    );
    assert.equal(
      (await verifyImage(store, image.digest, { publicKeys: [otherKey.publicKey] })).signatures.length,
      1,
    );
  });

  it('appends a layer for the same key signing another identity', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });

    await signImage(store, image.digest, { key: key.privateKey, identity: 'registry.example/other' });

    const result = await verifyImage(store, image.digest, { publicKeys: [key.publicKey] });
    assert.deepEqual(
      result.signatures.map((s) => s.dockerReference),
      [identity, 'registry.example/other'],
    );
  });

  it('adds nothing when the same key signs the same payload again, like cosign’s duplicate check', async () => {
    const first = await signImage(store, image.digest, { key: key.privateKey, identity });

    const again = await signImage(store, image.digest, { key: key.privateKey, identity });

    assert.deepEqual(again.added, []);
    assert.equal(again.manifest.digest, first.manifest.digest);
  });

  it('refuses to sign an image whose layer blob no longer matches its digest', async () => {
    const layer = image.manifest.layers[0];
    assert.ok(layer);
    await tamper(store, layer.digest, (bytes) => Buffer.concat([bytes, Buffer.from('x')]));

    await rejectsWithCode(
      signImage(store, image.digest, { key: key.privateKey, identity }),
      'DIGEST_MISMATCH',
    );
    await assert.rejects(store.resolve(signatureTag(image.digest)));
  });
});

describe('verifyImage', () => {
  let root: string;
  let store: LayoutStore;
  let image: Awaited<ReturnType<typeof writeTinyImage>>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeTinyImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('accepts an image signed by a given key and reports who signed it for what', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });

    const result = await verifyImage(store, image.digest, {
      publicKeys: [otherKey.publicKey, key.publicKey],
    });

    assert.equal(result.verified, true);
    assert.equal(result.signatures.length, 1);
    assert.equal(result.signatures[0]?.dockerReference, identity);
    assert.deepEqual(result.attestations, []);
  });

  it('fails with SIGNATURE_MISSING for an unsigned image, naming the digest', async () => {
    await assert.rejects(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'SIGNATURE_MISSING' &&
        error.message.includes(image.digest),
    );
  });

  it('fails with SIGNATURE_INVALID for a signature made with another key', async () => {
    await signImage(store, image.digest, { key: otherKey.privateKey, identity });

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      'SIGNATURE_INVALID',
    );
  });

  it('fails with SIGNATURE_INVALID when the signature annotation was edited', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const manifest = await signatureManifestOf(store, image.digest);
    const [layer] = manifest.layers;
    assert.ok(layer?.annotations);
    const signature = Buffer.from(layer.annotations[signatureAnnotation] ?? '', 'base64');
    signature[signature.length - 1] = (signature.at(-1) ?? 0) ^ 0x01;
    const edited = {
      ...manifest,
      layers: [{ ...layer, annotations: { [signatureAnnotation]: signature.toString('base64') } }],
    };
    await store.addManifest(await store.putJson(edited, MediaType.imageManifest), {
      refName: signatureTag(image.digest),
    });

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      'SIGNATURE_INVALID',
    );
  });

  it('fails with SIGNATURE_WRONG_DIGEST for a valid signature over another image', async () => {
    const other = await writeTinyImage(store, 'other\n');
    const payload = simpleSigningPayload({ dockerReference: identity, manifestDigest: other.digest });
    const layer = {
      ...(await store.putBlob(payload, simpleSigningMediaType)),
      annotations: { [signatureAnnotation]: signPayload(payload, key.privateKey) },
    };
    const config = await store.putBlob(cosignConfigBlob([layer.digest]), MediaType.imageConfig);
    const manifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [layer] };
    await store.addManifest(await store.putJson(manifest, MediaType.imageManifest), {
      refName: signatureTag(image.digest),
    });

    await assert.rejects(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'SIGNATURE_WRONG_DIGEST' &&
        error.message.includes(image.digest) &&
        error.message.includes(other.digest),
    );
  });

  it('fails with DIGEST_MISMATCH, naming the blob, when a layer of the image was edited on disk', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const layer = image.manifest.layers[0];
    assert.ok(layer);
    await tamper(store, layer.digest, (bytes) => Buffer.concat([bytes, Buffer.from('\0')]));

    await assert.rejects(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'DIGEST_MISMATCH' &&
        error.message.includes(layer.digest) &&
        error.message.includes(image.digest),
    );
  });

  it('fails with DIGEST_MISMATCH when the image config was edited on disk', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    await tamper(store, image.manifest.config.digest, (bytes) =>
      Buffer.from(bytes.toString().replace('amd64', 'arm64')),
    );

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      'DIGEST_MISMATCH',
    );
  });

  it('fails with DIGEST_MISMATCH when the signed payload blob was edited on disk', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const [layer] = (await signatureManifestOf(store, image.digest)).layers;
    assert.ok(layer);
    await tamper(store, layer.digest, (bytes) =>
      Buffer.from(bytes.toString().replace('team/hello', 'team/evil!')),
    );

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      'DIGEST_MISMATCH',
    );
  });

  it('fails with DIGEST_MISMATCH when the .sig manifest was edited on disk', async () => {
    const signed = await signImage(store, image.digest, { key: key.privateKey, identity });
    await tamper(store, signed.manifest.digest, (bytes) =>
      Buffer.from(bytes.toString().replace('"size"', '"size" ')),
    );

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      'DIGEST_MISMATCH',
    );
  });

  it('fails with KEY_INVALID when no key is given: nothing verifies against nothing', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });

    await rejectsWithCode(verifyImage(store, image.digest, { publicKeys: [] }), 'KEY_INVALID');
  });
});

describe('attestImage', () => {
  let root: string;
  let store: LayoutStore;
  let image: Awaited<ReturnType<typeof writeTinyImage>>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeTinyImage(store);
    const provenance = inTotoStatement(
      { name: 'hello', digest: image.digest },
      { predicateType: 'https://slsa.dev/provenance/v1', predicate: { buildDefinition: {} } },
    );
    for (const [artifactType, document] of [
      ['application/spdx+json', { spdxVersion: 'SPDX-2.3' }],
      ['application/vnd.cyclonedx+json', { bomFormat: 'CycloneDX' }],
      ['application/vnd.in-toto+json', provenance],
      ['application/vnd.herd.file-manifest.v1+json', { entries: [] }],
    ] as const) {
      await attachArtifact(store, image.descriptor, {
        artifactType,
        data: Buffer.from(JSON.stringify(document)),
      });
    }
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('turns the attached SBOMs, file manifest and provenance into in-toto statements about the image', async () => {
    const statements = await collectBuildStatements(store, image.digest);

    assert.deepEqual(
      statements.map((s) => s.predicateType),
      [
        spdxPredicateType,
        cycloneDxPredicateType,
        fileManifestPredicateType,
        'https://slsa.dev/provenance/v1',
      ],
    );
    assert.deepEqual(statements[0]?.subject, [{ name: 'hello', digest: { sha256: hexOf(image.digest) } }]);
    assert.deepEqual(statements[0]?.predicate, { spdxVersion: 'SPDX-2.3' });
  });

  it('stores DSSE layers under the .att tag and verifyImage checks each of them', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const statements = await collectBuildStatements(store, image.digest);

    await attestImage(store, image.digest, { key: key.privateKey, statements });

    const att = await store.getManifest(await store.resolve(`sha256-${hexOf(image.digest)}.att`));
    assert.deepEqual(
      att.layers.map((l) => [
        l.mediaType,
        l.annotations?.predicateType,
        l.annotations?.[signatureAnnotation],
      ]),
      statements.map((s) => ['application/vnd.dsse.envelope.v1+json', s.predicateType, '']),
    );
    const result = await verifyImage(store, image.digest, {
      publicKeys: [key.publicKey],
      attestations: true,
    });
    assert.deepEqual(
      result.attestations.map((a) => a.predicateType),
      statements.map((s) => s.predicateType),
    );
  });

  it('replaces attestations of a re-attested predicate type only when asked', async () => {
    const verdict = (pass: boolean) =>
      inTotoStatement(
        { name: 'hello', digest: image.digest },
        { predicateType: 'urn:herd:verdict:v1', predicate: { pass } },
      );
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: await collectBuildStatements(store, image.digest),
    });
    await attestImage(store, image.digest, { key: key.privateKey, statements: [verdict(false)] });

    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: [verdict(true)],
      replace: true,
    });

    const att = await store.getManifest(await store.resolve(`sha256-${hexOf(image.digest)}.att`));
    // SPDX, CycloneDX, file manifest, provenance and one verdict.
    assert.equal(att.layers.length, 5);
    assert.equal(att.layers.filter((l) => l.annotations?.predicateType === 'urn:herd:verdict:v1').length, 1);
  });

  it('refuses a statement about another image', async () => {
    const foreign = inTotoStatement(
      { name: 'x', digest: `sha256:${'0'.repeat(64)}` },
      { predicateType: 'urn:herd:verdict:v1', predicate: {} },
    );

    await rejectsWithCode(
      attestImage(store, image.digest, { key: key.privateKey, statements: [foreign] }),
      'ATTESTATION_INVALID',
    );
  });

  it('fails with ATTESTATION_MISSING when attestations are asked for and there are none', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey], attestations: true }),
      'ATTESTATION_MISSING',
    );
  });

  it('fails with SIGNATURE_INVALID when an attestation is signed by another key', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const statements = await collectBuildStatements(store, image.digest);
    await attestImage(store, image.digest, { key: otherKey.privateKey, statements });

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey], attestations: true }),
      'SIGNATURE_INVALID',
    );
  });
});

describe('verifySignatureManifest', () => {
  const digest = `sha256:${'ef'.repeat(32)}` as const;
  const payload = simpleSigningPayload({ dockerReference: identity, manifestDigest: digest });
  const layerDigest = sha256Digest(payload);
  const data = (signingKey: KeyObject, bytes: Uint8Array = payload) => ({
    manifest: {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: { mediaType: MediaType.imageConfig, size: 2, digest: sha256Digest('{}') },
      layers: [
        {
          mediaType: simpleSigningMediaType,
          size: payload.length,
          digest: layerDigest,
          annotations: { [signatureAnnotation]: signPayload(payload, signingKey) },
        },
      ],
    },
    blobs: new Map([[layerDigest, bytes]]),
  });

  it('verifies a manifest and blobs handed in as data, as a registry client would fetch them', () => {
    const verified = verifySignatureManifest(data(key.privateKey), {
      imageDigest: digest,
      publicKeys: [key.publicKey],
    });

    assert.equal(verified[0]?.claim.manifestDigest, digest);
  });

  it('refuses blobs that do not match their digest, a wrong key, and a manifest that is not one', () => {
    const tampered = Buffer.from(payload.toString().replace('hello', 'jello'));
    const cases: [unknown, string][] = [
      [data(key.privateKey, tampered), 'DIGEST_MISMATCH'],
      [data(otherKey.privateKey), 'SIGNATURE_INVALID'],
      [{ manifest: { schemaVersion: 2 }, blobs: new Map() }, 'SIGNATURE_INVALID'],
      [{ manifest: { ...data(key.privateKey).manifest, layers: [] }, blobs: new Map() }, 'SIGNATURE_MISSING'],
    ];

    for (const [input, code] of cases) {
      assert.throws(
        () =>
          verifySignatureManifest(input as Parameters<typeof verifySignatureManifest>[0], {
            imageDigest: digest,
            publicKeys: [key.publicKey],
          }),
        (error: unknown) => error instanceof TrustError && error.code === code,
        code,
      );
    }
  });
});
