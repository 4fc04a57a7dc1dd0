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
  gateVerdictPredicateType,
  spdxPredicateType,
} from './build-statements.js';
import { TrustError } from './errors.js';
import { attestImage, signImage, takeRegistryLayers, verifyImage } from './image-signatures.js';
import { inTotoStatement } from './in-toto-statement.js';
import {
  attestationTag,
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

    assert.equal(verified.signatures[0]?.claim.manifestDigest, digest);
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

/** A simple signing layer over `manifestDigest` for `identity`, signed by `signingKey`, stored as a blob. */
async function signatureLayer(
  store: LayoutStore,
  options: { signingKey: KeyObject; identity: string; manifestDigest: Digest; payload?: Buffer },
): Promise<Descriptor> {
  const payload =
    options.payload ??
    simpleSigningPayload({ dockerReference: options.identity, manifestDigest: options.manifestDigest });
  return {
    ...(await store.putBlob(payload, simpleSigningMediaType)),
    annotations: { [signatureAnnotation]: signPayload(payload, options.signingKey) },
  };
}

/** Writes a `.sig` manifest holding exactly `layers` under the image's signature tag, as any registry client could. */
async function writeSignatureManifest(
  store: LayoutStore,
  digest: Digest,
  layers: Descriptor[],
): Promise<void> {
  const config = await store.putBlob(cosignConfigBlob(layers.map((l) => l.digest)), MediaType.imageConfig);
  const manifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers };
  await store.addManifest(await store.putJson(manifest, MediaType.imageManifest), {
    refName: signatureTag(digest),
    dropPrevious: true,
  });
}

const thirdKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('signatures and attestations by several keys', () => {
  let root: string;
  let store: LayoutStore;
  let image: Awaited<ReturnType<typeof writeTinyImage>>;
  const statementsFor = (digest: Digest, pass: boolean) => [
    inTotoStatement(
      { name: 'hello', digest },
      { predicateType: gateVerdictPredicateType, predicate: { image: digest, passed: pass } },
    ),
    inTotoStatement(
      { name: 'hello', digest },
      { predicateType: fileManifestPredicateType, predicate: { entries: [] } },
    ),
  ];
  const required = [gateVerdictPredicateType, fileManifestPredicateType];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeTinyImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('verifies for your key when the .sig also holds another key’s valid signature, and reports that layer', async () => {
    const theirs = await signatureLayer(store, {
      signingKey: otherKey.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    const yours = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    await writeSignatureManifest(store, image.digest, [theirs, yours]);

    const result = await verifyImage(store, image.digest, { publicKeys: [key.publicKey] });

    assert.deepEqual(
      result.signatures.map((s) => s.layerDigest),
      [yours.digest],
    );
    assert.deepEqual(result.foreign, [
      { kind: 'signature', layerDigest: theirs.digest, reason: 'verifies under no trusted key' },
    ]);
  });

  it('verifies for your key when a second attester added its attestations, and reports them', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: statementsFor(image.digest, true),
    });
    await signImage(store, image.digest, { key: otherKey.privateKey, identity });
    await attestImage(store, image.digest, {
      key: otherKey.privateKey,
      statements: statementsFor(image.digest, false),
      replace: true,
    });

    const result = await verifyImage(store, image.digest, {
      publicKeys: [key.publicKey],
      attestations: true,
      requiredPredicates: required,
    });

    assert.deepEqual(
      result.attestations.map((a) => a.predicateType),
      required,
    );
    assert.deepEqual(
      result.attestations.map((a) => (a.statement.predicate as { passed?: boolean }).passed),
      [true, undefined],
    );
    assert.deepEqual(
      result.foreign.map((f) => [f.kind, f.predicateType]),
      [
        ['signature', undefined],
        ['attestation', gateVerdictPredicateType],
        ['attestation', fileManifestPredicateType],
      ],
    );
  });

  it('refuses a forged layer in your name beside another key’s valid one: nothing of yours verifies', async () => {
    const theirs = await signatureLayer(store, {
      signingKey: otherKey.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    const genuine = simpleSigningPayload({ dockerReference: identity, manifestDigest: image.digest });
    // Your genuine signature, moved onto a payload that now names another repository.
    const forged = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: image.digest,
      payload: genuine,
    });
    const edited = Buffer.from(genuine.toString().replace('team/hello', 'team/evil'));
    const forgedLayer = {
      ...(await store.putBlob(edited, simpleSigningMediaType)),
      annotations: forged.annotations ?? {},
    };
    await writeSignatureManifest(store, image.digest, [theirs, forgedLayer]);

    await assert.rejects(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'SIGNATURE_INVALID' &&
        error.message.includes('2 signatures checked'),
    );
  });

  it('refuses your key’s valid signature of another image in the .sig, even beside a valid one (mix-and-match)', async () => {
    const other = await writeTinyImage(store, 'other\n');
    const yours = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    const moved = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: other.digest,
    });
    await writeSignatureManifest(store, image.digest, [yours, moved]);

    await assert.rejects(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey] }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'SIGNATURE_WRONG_DIGEST' &&
        error.message.includes(other.digest),
    );
  });

  it('ignores another key’s signature of another image: it is not yours to answer for', async () => {
    const other = await writeTinyImage(store, 'other\n');
    const yours = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    const theirs = await signatureLayer(store, {
      signingKey: otherKey.privateKey,
      identity,
      manifestDigest: other.digest,
    });
    await writeSignatureManifest(store, image.digest, [theirs, yours]);

    const result = await verifyImage(store, image.digest, { publicKeys: [key.publicKey] });

    assert.equal(result.signatures.length, 1);
    assert.equal(result.foreign.length, 1);
  });

  it('refuses your key’s attestation about another image in the .att, even beside valid ones', async () => {
    const other = await writeTinyImage(store, 'other\n');
    await signImage(store, image.digest, { key: key.privateKey, identity });
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: statementsFor(image.digest, true),
    });
    await attestImage(store, other.digest, {
      key: key.privateKey,
      statements: statementsFor(other.digest, true),
    });
    const [moved] = (await store.getManifest(await store.resolve(attestationTag(other.digest)))).layers;
    const att = await store.getManifest(await store.resolve(attestationTag(image.digest)));
    assert.ok(moved);
    const config = await store.putBlob(
      cosignConfigBlob([...att.layers, moved].map((l) => l.digest)),
      MediaType.imageConfig,
    );
    const mixed = { ...att, config, layers: [...att.layers, moved] };
    await store.addManifest(await store.putJson(mixed, MediaType.imageManifest), {
      refName: attestationTag(image.digest),
      dropPrevious: true,
    });

    await rejectsWithCode(
      verifyImage(store, image.digest, { publicKeys: [key.publicKey], attestations: true }),
      'SIGNATURE_WRONG_DIGEST',
    );
  });

  it('does not add one trusted key’s signature to another trusted key’s attestations', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    await attestImage(store, image.digest, {
      key: otherKey.privateKey,
      statements: statementsFor(image.digest, true),
    });

    await assert.rejects(
      verifyImage(store, image.digest, {
        publicKeys: [key.publicKey, otherKey.publicKey],
        attestations: true,
        requiredPredicates: required,
      }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'ATTESTATION_MISSING' &&
        error.message.includes('not attested by the key that signed it'),
    );
  });

  it('fails with ATTESTATION_MISSING, naming the predicate, when the signing key did not attest one that is required', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: statementsFor(image.digest, true).slice(0, 1),
    });

    await assert.rejects(
      verifyImage(store, image.digest, {
        publicKeys: [key.publicKey],
        attestations: true,
        requiredPredicates: required,
      }),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'ATTESTATION_MISSING' &&
        error.message.includes(fileManifestPredicateType),
    );
  });

  it('reports an .att layer that is not a DSSE envelope as foreign, not as yours', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity });
    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: statementsFor(image.digest, true),
    });
    const att = await store.getManifest(await store.resolve(attestationTag(image.digest)));
    const junk = {
      ...(await store.putBlob(Buffer.from('{"payloadType":'), 'application/vnd.dsse.envelope.v1+json')),
      annotations: { [signatureAnnotation]: '', predicateType: gateVerdictPredicateType },
    };
    const config = await store.putBlob(
      cosignConfigBlob([...att.layers, junk].map((l) => l.digest)),
      MediaType.imageConfig,
    );
    await store.addManifest(
      await store.putJson({ ...att, config, layers: [...att.layers, junk] }, MediaType.imageManifest),
      { refName: attestationTag(image.digest), dropPrevious: true },
    );

    const result = await verifyImage(store, image.digest, {
      publicKeys: [key.publicKey],
      attestations: true,
      requiredPredicates: required,
    });

    assert.equal(result.attestations.length, 2);
    assert.deepEqual(
      result.foreign.map((f) => [f.layerDigest, f.reason.startsWith('not a DSSE envelope')]),
      [[junk.digest, true]],
    );
  });
});

describe('signing again with the same or another key', () => {
  let root: string;
  let store: LayoutStore;
  let image: Awaited<ReturnType<typeof writeTinyImage>>;
  const verdict = (digest: Digest, evaluatedAt: string) =>
    inTotoStatement(
      { name: 'hello', digest },
      { predicateType: gateVerdictPredicateType, predicate: { image: digest, passed: true, evaluatedAt } },
    );

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeTinyImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the first key’s attestations when a second key attests the same predicate with replace', async () => {
    await attestImage(store, image.digest, { key: key.privateKey, statements: [verdict(image.digest, '1')] });

    await attestImage(store, image.digest, {
      key: otherKey.privateKey,
      statements: [verdict(image.digest, '2')],
      replace: true,
    });

    await signImage(store, image.digest, { key: key.privateKey, identity });
    await signImage(store, image.digest, { key: otherKey.privateKey, identity });
    for (const signer of [key, otherKey]) {
      const result = await verifyImage(store, image.digest, {
        publicKeys: [signer.publicKey],
        attestations: true,
        requiredPredicates: [gateVerdictPredicateType],
      });
      assert.equal(result.attestations.length, 1);
    }
  });

  it('replaces only the same key’s attestation of the same predicate', async () => {
    await attestImage(store, image.digest, { key: key.privateKey, statements: [verdict(image.digest, '1')] });
    await attestImage(store, image.digest, {
      key: otherKey.privateKey,
      statements: [verdict(image.digest, '2')],
    });

    await attestImage(store, image.digest, {
      key: key.privateKey,
      statements: [verdict(image.digest, '3')],
      replace: true,
    });

    const att = await store.getManifest(await store.resolve(attestationTag(image.digest)));
    const evaluated = [];
    for (const layer of att.layers) {
      const envelope = JSON.parse((await store.getBlob(layer.digest)).toString()) as { payload: string };
      evaluated.push(JSON.parse(Buffer.from(envelope.payload, 'base64').toString()).predicate.evaluatedAt);
    }
    assert.deepEqual(evaluated, ['2', '3']);
  });

  it('replaces the same key’s earlier signature for the same identity, and keeps its others and other keys’', async () => {
    const older = simpleSigningPayload({ dockerReference: identity, manifestDigest: image.digest });
    const annotated = Buffer.from(older.toString().replace('"optional":null', '"optional":{"by":"cosign"}'));
    const earlier = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: image.digest,
      payload: annotated,
    });
    const elsewhere = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity: 'registry.example/other',
      manifestDigest: image.digest,
    });
    const theirs = await signatureLayer(store, {
      signingKey: thirdKey.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    await writeSignatureManifest(store, image.digest, [earlier, elsewhere, theirs]);

    const signed = await signImage(store, image.digest, { key: key.privateKey, identity });

    const layers = (await signatureManifestOf(store, image.digest)).layers.map((l) => l.digest);
    assert.deepEqual(layers, [elsewhere.digest, theirs.digest, signed.added[0]?.digest]);
  });
});

describe('herd verify --identity, as containers/image matchRepository', () => {
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

  it('accepts a signature for the repository, whatever tag or digest either side names', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity: `${identity}:0.1.0` });

    const result = await verifyImage(store, image.digest, {
      publicKeys: [key.publicKey],
      identity: `${identity}@${image.digest}`,
    });

    assert.equal(result.signatures.length, 1);
  });

  it('refuses a signature made for repository A when B is expected, naming both', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity: 'registry.example/team/a' });

    for (const expected of ['registry.example/team/b', 'registry.example/team', 'other.example/team/a']) {
      await assert.rejects(
        verifyImage(store, image.digest, { publicKeys: [key.publicKey], identity: expected }),
        (error: unknown) =>
          error instanceof TrustError &&
          error.code === 'SIGNATURE_IDENTITY_MISMATCH' &&
          error.message.includes('registry.example/team/a') &&
          error.message.includes(expected),
        expected,
      );
    }
  });

  it('counts only the signatures for the repository, and reports the others', async () => {
    await signImage(store, image.digest, { key: key.privateKey, identity: 'registry.example/team/a' });
    await signImage(store, image.digest, { key: key.privateKey, identity: 'registry.example/team/b' });

    const result = await verifyImage(store, image.digest, {
      publicKeys: [key.publicKey],
      identity: 'registry.example/team/b',
    });

    assert.deepEqual(
      result.signatures.map((s) => s.dockerReference),
      ['registry.example/team/b'],
    );
    assert.deepEqual(
      result.otherRepositories.map((s) => s.dockerReference),
      ['registry.example/team/a'],
    );
  });
});

describe('takeRegistryLayers, before a push', () => {
  let root: string;
  let store: LayoutStore;
  let image: Awaited<ReturnType<typeof writeTinyImage>>;
  const verdict = (digest: Digest, evaluatedAt: string) =>
    inTotoStatement(
      { name: 'hello', digest },
      { predicateType: gateVerdictPredicateType, predicate: { image: digest, passed: true, evaluatedAt } },
    );
  const layersOf = async (tag: string) => (await store.getManifest(await store.resolve(tag))).layers;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    store = new LayoutStore(root);
    await store.init();
    image = await writeTinyImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps another signer’s signature that only the registry holds', async () => {
    const theirs = await signatureLayer(store, {
      signingKey: otherKey.privateKey,
      identity,
      manifestDigest: image.digest,
    });
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const local = await layersOf(signatureTag(image.digest));

    const { added } = await takeRegistryLayers(store, image.digest, {
      kind: 'signature',
      remoteLayers: [theirs],
      publicKeys: [key.publicKey],
    });

    assert.deepEqual(added, [theirs]);
    assert.deepEqual(
      (await layersOf(signatureTag(image.digest))).map((l) => l.digest),
      [...local.map((l) => l.digest), theirs.digest],
    );
    const verified = await verifyImage(store, image.digest, { publicKeys: [otherKey.publicKey] });
    assert.equal(verified.signatures.length, 1);
  });

  it('keeps another attester’s attestations, and drops the registry’s copy of the one replaced here', async () => {
    await attestImage(store, image.digest, { key: key.privateKey, statements: [verdict(image.digest, '1')] });
    await attestImage(store, image.digest, {
      key: otherKey.privateKey,
      statements: [verdict(image.digest, '2')],
    });
    const registryLayers = await layersOf(attestationTag(image.digest));
    // Another store, where the first key attested a newer verdict and the other key's is unknown.
    const fresh = await mkdtemp(join(tmpdir(), 'herd-trust-'));
    try {
      const local = new LayoutStore(fresh);
      await local.init();
      const copy = await writeTinyImage(local);
      assert.equal(copy.digest, image.digest);
      await attestImage(local, image.digest, {
        key: key.privateKey,
        statements: [verdict(image.digest, '3')],
      });
      for (const layer of registryLayers)
        await local.putBlob(await store.getBlob(layer.digest), layer.mediaType);

      const { added } = await takeRegistryLayers(local, image.digest, {
        kind: 'attestation',
        remoteLayers: registryLayers,
        publicKeys: [key.publicKey],
      });

      assert.deepEqual(
        added.map((l) => l.digest),
        [registryLayers[1]?.digest],
      );
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('changes nothing when the store has no manifest of that kind, or the registry adds nothing', async () => {
    const theirs = await signatureLayer(store, {
      signingKey: otherKey.privateKey,
      identity,
      manifestDigest: image.digest,
    });

    const none = await takeRegistryLayers(store, image.digest, {
      kind: 'signature',
      remoteLayers: [theirs],
      publicKeys: [key.publicKey],
    });
    const signed = await signImage(store, image.digest, { key: key.privateKey, identity });
    const same = await takeRegistryLayers(store, image.digest, {
      kind: 'signature',
      remoteLayers: signed.added,
      publicKeys: [key.publicKey],
    });

    assert.deepEqual(none.added, []);
    await assert.rejects(store.resolve(attestationTag(image.digest)));
    assert.deepEqual(same.added, []);
    assert.equal(await store.resolve(signatureTag(image.digest)), signed.manifest.digest);
  });
});

describe('takeRegistryLayers against a registry someone wrote to', () => {
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

  it('refuses a trusted key’s signature of another image, so a push cannot plant mix-and-match here', async () => {
    const other = await writeTinyImage(store, 'other\n');
    await signImage(store, image.digest, { key: key.privateKey, identity });
    const moved = await signatureLayer(store, {
      signingKey: key.privateKey,
      identity,
      manifestDigest: other.digest,
    });
    const theirs = await signatureLayer(store, {
      signingKey: otherKey.privateKey,
      identity,
      manifestDigest: other.digest,
    });

    const { added, refused } = await takeRegistryLayers(store, image.digest, {
      kind: 'signature',
      remoteLayers: [moved, theirs],
      publicKeys: [key.publicKey],
    });

    // Another key's claim about another image is foreign: kept, and ignored by verification.
    assert.deepEqual(added, [theirs]);
    assert.deepEqual(
      refused.map((r) => [r.layer.digest, r.reason.startsWith('SIGNATURE_WRONG_DIGEST')]),
      [[moved.digest, true]],
    );
    assert.equal(
      (await verifyImage(store, image.digest, { publicKeys: [key.publicKey] })).signatures.length,
      1,
    );
  });

  it('refuses a trusted key’s attestation about another image', async () => {
    const other = await writeTinyImage(store, 'other\n');
    const about = (digest: Digest) =>
      inTotoStatement({ name: 'hello', digest }, { predicateType: gateVerdictPredicateType, predicate: {} });
    await attestImage(store, image.digest, { key: key.privateKey, statements: [about(image.digest)] });
    await attestImage(store, other.digest, { key: otherKey.privateKey, statements: [about(other.digest)] });
    const [theirs] = (await store.getManifest(await store.resolve(attestationTag(other.digest)))).layers;
    await attestImage(store, other.digest, { key: key.privateKey, statements: [about(other.digest)] });
    const moved = (await store.getManifest(await store.resolve(attestationTag(other.digest)))).layers[1];
    assert.ok(theirs && moved);

    const { added, refused } = await takeRegistryLayers(store, image.digest, {
      kind: 'attestation',
      remoteLayers: [moved, theirs],
      publicKeys: [key.publicKey],
    });

    assert.deepEqual(added, [theirs]);
    assert.deepEqual(
      refused.map((r) => r.layer.digest),
      [moved.digest],
    );
  });
});
