/**
 * Signatures and attestations of images in the local store, laid out exactly as cosign lays them
 * out in a registry (see signature-manifest.ts), so `herd push` can copy them verbatim and podman
 * or cosign can verify them. Verification does no network I/O: the caller hands in the keys.
 */
import type { KeyObject } from 'node:crypto';
import type { LayoutStore } from '../oci/index.js';
import { type Descriptor, type Digest, type ImageManifest, MediaType, OciError } from '../oci/index.js';
import { dsseEnvelopeMediaType, signEnvelope } from './dsse.js';
import { TrustError } from './errors.js';
import { type InTotoStatement, statementNamesDigest } from './in-toto-statement.js';
import {
  attestationBy,
  attestationTag,
  cosignConfigBlob,
  cosignManifest,
  type ForeignLayer,
  holdsAttestation,
  holdsSignature,
  mergeLayers,
  predicateTypeAnnotation,
  signatureAnnotation,
  signatureClaimBy,
  signatureTag,
  type VerifiedAttestation,
  type VerifiedSignature,
  verifyAttestationManifest,
  verifySignatureManifest,
} from './signature-manifest.js';
import { type Signer, signerOf } from './signer.js';
import { simpleSigningMediaType, simpleSigningPayload } from './simple-signing.js';

export interface SignResult {
  tag: string;
  /** The `.sig` (or `.att`) manifest now under `tag`. */
  manifest: Descriptor;
  /** Layers added by this call; none when the same key had already signed the same content. */
  added: Descriptor[];
}

/**
 * Signs `digest` for `identity` (`<registry>/<repository>`, the repository it will be pushed to:
 * podman's `matchRepository` compares it). Layers of other keys, and of this key for other
 * identities, are kept; this key's earlier layers for the same identity are replaced. The same key
 * signing the same payload again changes nothing (cosign's duplicate check).
 */
export async function signImage(
  store: LayoutStore,
  digest: Digest,
  options: { key: KeyObject | Signer; identity: string },
): Promise<SignResult> {
  const signer = signerOf(options.key);
  await checkImageIntegrity(store, digest);
  const payload = simpleSigningPayload({ dockerReference: options.identity, manifestDigest: digest });
  const tag = signatureTag(digest);
  const existing = await readTagged(store, digest, { tag, what: 'signature' });
  if (
    existing?.layers.some((l) => holdsSignature(l, existing.blobs, { payload, publicKey: signer.publicKey }))
  ) {
    return { tag, manifest: existing.descriptor, added: [] };
  }
  const kept = (existing?.layers ?? []).filter(
    (l) =>
      signatureClaimBy(l, existing?.blobs ?? new Map(), signer.publicKey)?.dockerReference !==
      options.identity,
  );
  const layer: Descriptor = {
    ...(await store.putBlob(payload, simpleSigningMediaType)),
    annotations: { [signatureAnnotation]: signer.sign(payload).toString('base64') },
  };
  const manifest = await writeTagged(store, { tag, layers: [...kept, layer] });
  return { tag, manifest, added: [layer] };
}

/**
 * Attests `digest` with in-toto statements (SBOMs, provenance, the gate verdict) as DSSE envelopes
 * under `sha256-<hex>.att`. Appends like cosign; `replace` first drops this key's attestations of
 * the predicate types being attested again (cosign's `--replace`), e.g. a newer gate verdict.
 * Another key's attestations are never dropped: a second attester is normal.
 */
export async function attestImage(
  store: LayoutStore,
  digest: Digest,
  options: { key: KeyObject | Signer; statements: readonly InTotoStatement[]; replace?: boolean },
): Promise<SignResult> {
  const signer = signerOf(options.key);
  for (const statement of options.statements) {
    if (!statementNamesDigest(statement, digest)) {
      throw new TrustError(
        'ATTESTATION_INVALID',
        `statement ${statement.predicateType} names ${statement.subject.map((s) => s.name).join(', ')}, not image ${digest}`,
      );
    }
  }
  await checkImageIntegrity(store, digest);
  const tag = attestationTag(digest);
  const existing = await readTagged(store, digest, { tag, what: 'attestation' });
  const replaced = new Set(options.replace ? options.statements.map((s) => s.predicateType) : []);
  const kept = (existing?.layers ?? []).filter((l) => {
    if (replaced.size === 0) return true;
    const mine = attestationBy(l, existing?.blobs ?? new Map(), signer.publicKey);
    return !(mine && replaced.has(mine.predicateType));
  });
  const added: Descriptor[] = [];
  for (const statement of options.statements) {
    const duplicate = kept.some((l) =>
      holdsAttestation(l, existing?.blobs ?? new Map(), { statement, publicKey: signer.publicKey }),
    );
    if (duplicate) continue;
    const envelope = signEnvelope(statement, signer);
    added.push({
      ...(await store.putBlob(Buffer.from(JSON.stringify(envelope)), dsseEnvelopeMediaType)),
      // cosign writes an empty signature annotation on attestations: the signature is in the envelope.
      annotations: { [signatureAnnotation]: '', [predicateTypeAnnotation]: statement.predicateType },
    });
  }
  if (existing && added.length === 0 && kept.length === existing.layers.length) {
    return { tag, manifest: existing.descriptor, added };
  }
  const manifest = await writeTagged(store, { tag, layers: [...kept, ...added] });
  return { tag, manifest, added };
}

export interface ImageVerification {
  verified: true;
  digest: Digest;
  /** Fingerprints of the trusted keys that vouch for the image: each signed it (and attested it). */
  keys: string[];
  /** The signatures and attestations of those keys. */
  signatures: VerifiedSignature[];
  attestations: VerifiedAttestation[];
  /** Valid signatures by a trusted key for another repository than `identity`: not counted. */
  otherRepositories: VerifiedSignature[];
  /** Layers no trusted key signed: other signers' and forgeries, ignored. */
  foreign: (ForeignLayer & { kind: 'signature' | 'attestation' })[];
}

/**
 * Checks, in order: the image's own manifest, config and layers against their digests; its `.sig`
 * manifest; and with `attestations`, its `.att` manifest. Layers are judged per trusted key (see
 * signature-manifest.ts); a key vouches for the image when it has a valid signature of it (for
 * `identity`'s repository when one is given) and, with `attestations`, at least one valid
 * attestation and one of each `requiredPredicates`. At least one key must vouch. Throws a
 * TrustError with the precise code; returns only when that holds.
 */
export async function verifyImage(
  store: LayoutStore,
  digest: Digest,
  options: {
    publicKeys: readonly KeyObject[];
    attestations?: boolean;
    requiredPredicates?: readonly string[];
    identity?: string;
  },
): Promise<ImageVerification> {
  await checkImageIntegrity(store, digest);
  const signed = await readTagged(store, digest, { tag: signatureTag(digest), what: 'signature' });
  if (!signed) {
    throw new TrustError(
      'SIGNATURE_MISSING',
      `image ${digest} is not signed: no ${signatureTag(digest)} in the store at ${store.root}`,
    );
  }
  const signatureCheck = verifySignatureManifest(signed, {
    imageDigest: digest,
    publicKeys: options.publicKeys,
    ...(options.identity !== undefined ? { identity: options.identity } : {}),
  });
  const foreign: ImageVerification['foreign'] = signatureCheck.foreign.map((f) => ({
    ...f,
    kind: 'signature' as const,
  }));
  const signers = [...new Set(signatureCheck.signatures.map((s) => s.keyFingerprint))];
  let keys = signers;
  let attestations: VerifiedAttestation[] = [];
  if (options.attestations) {
    const attested = await readTagged(store, digest, { tag: attestationTag(digest), what: 'attestation' });
    if (!attested) {
      throw new TrustError(
        'ATTESTATION_MISSING',
        `image ${digest} has no attestations: no ${attestationTag(digest)} in the store at ${store.root}`,
      );
    }
    const attestationCheck = verifyAttestationManifest(attested, {
      imageDigest: digest,
      publicKeys: options.publicKeys,
    });
    foreign.push(...attestationCheck.foreign.map((f) => ({ ...f, kind: 'attestation' as const })));
    keys = vouchingKeys(signers, attestationCheck.attestations, {
      digest,
      required: options.requiredPredicates ?? [],
    });
    attestations = attestationCheck.attestations.filter((a) => keys.includes(a.keyFingerprint));
  }
  return {
    verified: true,
    digest,
    keys,
    signatures: signatureCheck.signatures.filter((s) => keys.includes(s.keyFingerprint)),
    attestations,
    otherRepositories: signatureCheck.otherRepositories,
    foreign,
  };
}

/**
 * The signing keys that also attested the image, with every required predicate type. One key's
 * signature and another's attestation do not add up: the same key must vouch for both.
 */
function vouchingKeys(
  signers: readonly string[],
  attestations: readonly VerifiedAttestation[],
  options: { digest: Digest; required: readonly string[] },
): string[] {
  const missingOf = (key: string) => {
    const attested = new Set(
      attestations.filter((a) => a.keyFingerprint === key).map((a) => a.predicateType),
    );
    if (attested.size === 0) return ['any attestation'];
    return options.required.filter((type) => !attested.has(type));
  };
  const vouching = signers.filter((key) => missingOf(key).length === 0);
  if (vouching.length > 0) return vouching;
  const gaps = signers.map((key) => `key ${key.slice(0, 16)}… lacks ${missingOf(key).join(', ')}`);
  throw new TrustError(
    'ATTESTATION_MISSING',
    `image ${options.digest} is not attested by the key that signed it: ${gaps.join('; ')}`,
  );
}

/**
 * Before a push: takes into the store's `.sig` or `.att` of `digest` the registry's layers under
 * the same tag that it lacks (see `mergeLayers`), so that pushing the store's manifest keeps what
 * others signed there. `publicKeys` are the keys whose own earlier layers a local re-signing
 * replaced (the pushing key, the trusted keys). The registry's blobs must be in the store already.
 * A registry layer that would fail verification here is refused and returned, not taken in; the
 * push then replaces the registry's manifest without it. Does nothing when the store has no
 * manifest of that kind: then nothing of it is pushed.
 */
export async function takeRegistryLayers(
  store: LayoutStore,
  digest: Digest,
  options: {
    kind: 'signature' | 'attestation';
    remoteLayers: readonly Descriptor[];
    publicKeys: readonly KeyObject[];
  },
): Promise<{ added: Descriptor[]; refused: { layer: Descriptor; reason: string }[] }> {
  const tag = options.kind === 'signature' ? signatureTag(digest) : attestationTag(digest);
  const local = await readTagged(store, digest, { tag, what: options.kind });
  if (!local) return { added: [], refused: [] };
  const remoteBlobs = await withStoreErrors(digest, async () => {
    const blobs = new Map<string, Uint8Array>();
    for (const layer of options.remoteLayers) blobs.set(layer.digest, await store.getBlob(layer.digest));
    return blobs;
  });
  const { layers, refused } = mergeLayers(
    local,
    { layers: options.remoteLayers, blobs: remoteBlobs },
    { kind: options.kind, imageDigest: digest, publicKeys: options.publicKeys },
  );
  const added = layers.slice(local.layers.length);
  if (added.length > 0) await writeTagged(store, { tag, layers });
  return { added, refused };
}

/** Re-hashes the image manifest, its config and every layer: a signature over a tampered image is worthless. */
export async function checkImageIntegrity(store: LayoutStore, digest: Digest): Promise<ImageManifest> {
  return withStoreErrors(digest, async () => {
    const manifest = await store.getManifest(digest);
    await store.getBlob(manifest.config.digest);
    for (const layer of manifest.layers) await store.getBlob(layer.digest);
    return manifest;
  });
}

interface TaggedManifest {
  descriptor: Descriptor;
  manifest: ImageManifest;
  layers: Descriptor[];
  blobs: Map<string, Uint8Array>;
}

/** The manifest under a cosign tag, with its config and layer blobs, each verified by the store. */
async function readTagged(
  store: LayoutStore,
  imageDigest: Digest,
  options: { tag: string; what: 'signature' | 'attestation' },
): Promise<TaggedManifest | undefined> {
  let manifestDigest: Digest;
  try {
    manifestDigest = await store.resolve(options.tag);
  } catch (error) {
    if (error instanceof OciError && error.code === 'REF_NOT_FOUND') return undefined;
    throw error;
  }
  return withStoreErrors(imageDigest, async () => {
    const bytes = await store.getBlob(manifestDigest);
    const manifest = parseJson(bytes, { imageDigest, what: options.what }) as ImageManifest;
    const blobs = new Map<string, Uint8Array>();
    const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
    for (const d of [manifest.config, ...layers]) {
      if (d?.digest) blobs.set(d.digest, await store.getBlob(d.digest));
    }
    return {
      descriptor: { mediaType: MediaType.imageManifest, digest: manifestDigest, size: bytes.byteLength },
      manifest,
      layers,
      blobs,
    };
  });
}

async function writeTagged(
  store: LayoutStore,
  options: { tag: string; layers: Descriptor[] },
): Promise<Descriptor> {
  const config = await store.putBlob(
    cosignConfigBlob(options.layers.map((l) => l.digest)),
    MediaType.imageConfig,
  );
  const descriptor = await store.putJson(cosignManifest(config, options.layers), MediaType.imageManifest);
  await store.addManifest(descriptor, { refName: options.tag, dropPrevious: true });
  return descriptor;
}

function parseJson(
  bytes: Buffer,
  context: { imageDigest: Digest; what: 'signature' | 'attestation' },
): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TrustError(
      context.what === 'signature' ? 'SIGNATURE_INVALID' : 'ATTESTATION_INVALID',
      `${context.what} manifest of image ${context.imageDigest} is not JSON`,
    );
  }
}

/** The store's integrity errors become TrustErrors that name the image being checked. */
async function withStoreErrors<T>(imageDigest: Digest, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    switch (error.code) {
      case 'DIGEST_MISMATCH':
        throw new TrustError('DIGEST_MISMATCH', `image ${imageDigest}: ${error.message}`, { cause: error });
      case 'BLOB_NOT_FOUND':
        throw new TrustError('BLOB_MISSING', `image ${imageDigest}: ${error.message}`, { cause: error });
      default:
        throw error;
    }
  }
}
