/**
 * cosign's tag-based layout, as pure data: the `.sig` and `.att` manifests of an image, built and
 * verified without any I/O, so the local store and a registry client share one implementation.
 * - tag `sha256-<hex>.sig`: one layer per signature, the simple signing payload, with the base64
 *   signature in the `dev.cosignproject.cosign/signature` annotation;
 * - tag `sha256-<hex>.att`: one layer per attestation, a DSSE envelope, with `predicateType`.
 * Spec: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import {
  type Descriptor,
  type Digest,
  hexOf,
  type ImageManifest,
  isDigest,
  MediaType,
  sha256Digest,
} from '../oci/index.js';
import { keyFingerprint } from './cosign-key.js';
import {
  type DsseEnvelope,
  dsseEnvelopeMediaType,
  envelopeSignedBy,
  parseEnvelope,
  verifyEnvelope,
} from './dsse.js';
import { TrustError } from './errors.js';
import { type InTotoStatement, statementNamesDigest } from './in-toto-statement.js';
import { matchRepository } from './signed-identity.js';
import {
  parseSimpleSigningPayload,
  type SimpleSigningClaim,
  simpleSigningMediaType,
  verifyPayload,
} from './simple-signing.js';

export const signatureAnnotation = 'dev.cosignproject.cosign/signature';
export const predicateTypeAnnotation = 'predicateType';

/** `sha256:<hex>` → `sha256-<hex>.sig`: a tag cannot hold a colon. */
export function signatureTag(digest: Digest): string {
  return `sha256-${hexOf(digest)}.sig`;
}

export function attestationTag(digest: Digest): string {
  return `sha256-${hexOf(digest)}.att`;
}

/**
 * The config cosign writes: go-containerregistry's empty image after appending the layers, with
 * zero times and each layer's digest as its diff_id (the layers are not compressed).
 */
export function cosignConfigBlob(layerDigests: readonly Digest[]): Buffer {
  const zeroTime = '0001-01-01T00:00:00Z';
  const config = {
    architecture: '',
    created: zeroTime,
    history: layerDigests.map(() => ({ created: zeroTime })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layerDigests },
    config: {},
  };
  return Buffer.from(JSON.stringify(config));
}

/** Descriptor keys in go-containerregistry's order (mediaType, size, digest, annotations). */
export function cosignManifest(config: Descriptor, layers: readonly Descriptor[]): ImageManifest {
  const describe = (d: Descriptor): Descriptor =>
    ({
      mediaType: d.mediaType,
      size: d.size,
      digest: d.digest,
      ...(d.annotations ? { annotations: d.annotations } : {}),
    }) as Descriptor;
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: describe({ ...config, mediaType: MediaType.imageConfig }),
    layers: layers.map(describe),
  };
}

/** A `.sig` or `.att` manifest and the blobs it names, as read from a store or a registry. */
export interface SignedManifestData {
  /** The manifest's parsed JSON: untrusted, checked here. */
  manifest: unknown;
  /** Blob bytes by digest: at least every layer. Each is hashed before it is used. */
  blobs: ReadonlyMap<string, Uint8Array>;
}

export interface VerifiedSignature {
  /** The repository the signer named; podman's `signedIdentity` compares against it. */
  dockerReference: string;
  keyFingerprint: string;
  layerDigest: Digest;
  claim: SimpleSigningClaim;
}

export interface VerifiedAttestation {
  predicateType: string;
  statement: InTotoStatement;
  keyFingerprint: string;
  layerDigest: Digest;
}

/**
 * A layer that verifies under none of the trusted keys: another signer's, or a forgery (herd cannot
 * tell them apart: a key-based cosign layer names no key). It is never counted, and it is reported.
 */
export interface ForeignLayer {
  layerDigest: Digest;
  /** For an attestation, the predicate type its annotation claims (not verified). */
  predicateType?: string;
  reason: string;
}

export interface SignatureManifestCheck {
  /** The trusted keys' signatures of the image (for `identity`'s repository when one is given). */
  signatures: VerifiedSignature[];
  /** The trusted keys' signatures of the image for another repository than `identity`: not counted. */
  otherRepositories: VerifiedSignature[];
  foreign: ForeignLayer[];
}

export interface AttestationManifestCheck {
  attestations: VerifiedAttestation[];
  foreign: ForeignLayer[];
}

/**
 * Judges each simple signing layer under the trusted keys, like cosign: accepts when at least one
 * is signed by one of `publicKeys`, names `imageDigest` and, when `identity` is given, names its
 * repository (containers/image's `matchRepository`). A layer that verifies under no trusted key is
 * foreign: ignored and reported. These fail the whole check, whatever else the manifest holds:
 * - a layer whose bytes do not match its digest (DIGEST_MISMATCH): a tampered blob is never overlooked;
 * - a trusted key's valid signature of another image (SIGNATURE_WRONG_DIGEST): a layer moved from
 *   another image's `.sig` is mix-and-match, not another signer's business;
 * - a trusted key's signature over a payload that is not a simple signing claim (PAYLOAD_INVALID).
 */
export function verifySignatureManifest(
  data: SignedManifestData,
  options: { imageDigest: Digest; publicKeys: readonly KeyObject[]; identity?: string },
): SignatureManifestCheck {
  const { imageDigest, publicKeys, identity } = options;
  requireKeys(publicKeys, imageDigest);
  const manifest = parseSignedManifest(data.manifest, { imageDigest, what: 'signature' });
  const layers = manifest.layers.filter((l) => l.mediaType === simpleSigningMediaType);
  if (layers.length === 0) {
    throw new TrustError(
      'SIGNATURE_MISSING',
      `image ${imageDigest} has no signature: its .sig manifest holds no simple signing layers`,
    );
  }
  const check: SignatureManifestCheck = {
    signatures: [],
    otherRepositories: [],
    foreign: otherMediaTypes(manifest.layers, simpleSigningMediaType),
  };
  const otherDigests: string[] = [];
  for (const layer of layers) {
    const payload = checkedBlob(data.blobs, layer, { imageDigest, what: 'signature layer' });
    const signature = layer.annotations?.[signatureAnnotation] ?? '';
    const key = publicKeys.find((k) => verifyPayload(payload, signature, k));
    if (!key) {
      check.foreign.push({ layerDigest: layer.digest, reason: 'verifies under no trusted key' });
      continue;
    }
    const claim = parseSimpleSigningPayload(payload);
    if (claim.manifestDigest !== imageDigest) {
      otherDigests.push(claim.manifestDigest);
      continue;
    }
    const verified = {
      dockerReference: claim.dockerReference,
      keyFingerprint: keyFingerprint(key),
      layerDigest: layer.digest,
      claim,
    };
    if (identity === undefined || matchRepository(claim.dockerReference, identity)) {
      check.signatures.push(verified);
    } else {
      check.otherRepositories.push(verified);
    }
  }
  if (otherDigests.length > 0) {
    throw new TrustError(
      'SIGNATURE_WRONG_DIGEST',
      `the .sig manifest of image ${imageDigest} holds a trusted key's valid signature of another image: got ${otherDigests.join(', ')}, expected ${imageDigest}`,
    );
  }
  if (check.signatures.length > 0) return check;
  if (check.otherRepositories.length > 0) {
    const signedFor = [...new Set(check.otherRepositories.map((s) => s.dockerReference))];
    throw new TrustError(
      'SIGNATURE_IDENTITY_MISMATCH',
      `image ${imageDigest} is signed by a trusted key for ${signedFor.join(', ')}, not for repository ${identity}`,
    );
  }
  throw new TrustError(
    'SIGNATURE_INVALID',
    `no signature of image ${imageDigest} verifies with the given ${keyCount(publicKeys)}: ${layers.length} signature${layers.length === 1 ? '' : 's'} checked, all by other keys or forged`,
  );
}

/**
 * Judges each DSSE layer under the trusted keys, by the same rule as signatures: a layer that
 * verifies under no trusted key (another attester's, a forgery, or not an envelope at all) is
 * foreign, ignored and reported; a trusted key's attestation must be about `imageDigest`
 * (SIGNATURE_WRONG_DIGEST) and match its `predicateType` annotation (ATTESTATION_INVALID).
 * Fails unless at least one layer is a trusted key's attestation.
 */
export function verifyAttestationManifest(
  data: SignedManifestData,
  options: { imageDigest: Digest; publicKeys: readonly KeyObject[] },
): AttestationManifestCheck {
  const { imageDigest, publicKeys } = options;
  requireKeys(publicKeys, imageDigest);
  const manifest = parseSignedManifest(data.manifest, { imageDigest, what: 'attestation' });
  const layers = manifest.layers.filter((l) => l.mediaType === dsseEnvelopeMediaType);
  if (layers.length === 0) {
    throw new TrustError(
      'ATTESTATION_MISSING',
      `image ${imageDigest} has no attestation: its .att manifest holds no DSSE layers`,
    );
  }
  const check: AttestationManifestCheck = {
    attestations: [],
    foreign: otherMediaTypes(manifest.layers, dsseEnvelopeMediaType),
  };
  for (const layer of layers) {
    const bytes = checkedBlob(data.blobs, layer, { imageDigest, what: 'attestation layer' });
    const annotated = layer.annotations?.[predicateTypeAnnotation];
    const foreign = (reason: string) =>
      check.foreign.push({
        layerDigest: layer.digest,
        ...(annotated !== undefined ? { predicateType: annotated } : {}),
        reason,
      });
    let envelope: DsseEnvelope;
    try {
      envelope = parseEnvelope(bytes);
    } catch (error) {
      if (!(error instanceof TrustError)) throw error;
      foreign(`not a DSSE envelope: ${error.message}`);
      continue;
    }
    const key = publicKeys.find((k) => envelopeSignedBy(envelope, k));
    if (!key) {
      foreign('verifies under no trusted key');
      continue;
    }
    const statement = verifyEnvelope(envelope, key);
    if (!statementNamesDigest(statement, imageDigest)) {
      const named = statement.subject.map((s) => (s.digest.sha256 ? `sha256:${s.digest.sha256}` : s.name));
      throw new TrustError(
        'SIGNATURE_WRONG_DIGEST',
        `attestation ${layer.digest} by a trusted key is about ${named.join(', ')}, expected image ${imageDigest}`,
      );
    }
    if (annotated !== undefined && annotated !== statement.predicateType) {
      throw new TrustError(
        'ATTESTATION_INVALID',
        `attestation ${layer.digest} of image ${imageDigest} is annotated ${annotated} but its statement says ${statement.predicateType}`,
      );
    }
    check.attestations.push({
      predicateType: statement.predicateType,
      statement,
      keyFingerprint: keyFingerprint(key),
      layerDigest: layer.digest,
    });
  }
  if (check.attestations.length === 0) {
    throw new TrustError(
      'SIGNATURE_INVALID',
      `no attestation of image ${imageDigest} verifies with the given ${keyCount(publicKeys)}: ${layers.length} attestation${layers.length === 1 ? '' : 's'} checked, all by other keys or forged`,
    );
  }
  return check;
}

/** The claim of a `.sig` layer that `publicKey` signed, or undefined: another key's layer, or no claim. */
export function signatureClaimBy(
  layer: Descriptor,
  blobs: ReadonlyMap<string, Uint8Array>,
  publicKey: KeyObject,
): SimpleSigningClaim | undefined {
  const bytes = blobs.get(layer.digest);
  if (!bytes || !verifyPayload(bytes, layer.annotations?.[signatureAnnotation] ?? '', publicKey)) {
    return undefined;
  }
  try {
    return parseSimpleSigningPayload(bytes);
  } catch {
    return undefined;
  }
}

/** The statement of an `.att` layer that `publicKey` signed, or undefined: another key's layer, or no statement. */
export function attestationBy(
  layer: Descriptor,
  blobs: ReadonlyMap<string, Uint8Array>,
  publicKey: KeyObject,
): InTotoStatement | undefined {
  const bytes = blobs.get(layer.digest);
  if (!bytes) return undefined;
  try {
    const envelope = parseEnvelope(bytes);
    return envelopeSignedBy(envelope, publicKey) ? verifyEnvelope(envelope, publicKey) : undefined;
  } catch {
    return undefined;
  }
}

/** Layers with the blobs they name, as read from a store. */
export interface LayersWithBlobs {
  layers: readonly Descriptor[];
  blobs: ReadonlyMap<string, Uint8Array>;
}

/**
 * The layers to keep when the registry's `.sig` or `.att` under the same tag differs from the
 * local one: every local layer, then every registry layer that is not already here, unless one
 * of `publicKeys` made it and the local manifest holds that key's layer for the same identity
 * (signature) or predicate type (attestation): that one was replaced here on purpose. Layers by
 * any other key are kept, so a push never drops what others signed in the registry. A registry
 * layer that would fail verification here (a trusted key's signature of another image, or of
 * something that is no claim) is refused and named: taking it in would let whoever wrote to the
 * registry break this image's verification.
 */
export function mergeLayers(
  local: LayersWithBlobs,
  remote: LayersWithBlobs,
  options: { kind: 'signature' | 'attestation'; imageDigest: Digest; publicKeys: readonly KeyObject[] },
): { layers: Descriptor[]; refused: { layer: Descriptor; reason: string }[] } {
  const { kind, publicKeys } = options;
  const claimOf = (layer: Descriptor, blobs: ReadonlyMap<string, Uint8Array>, key: KeyObject) =>
    kind === 'signature'
      ? signatureClaimBy(layer, blobs, key)?.dockerReference
      : attestationBy(layer, blobs, key)?.predicateType;
  const replacedHere = publicKeys.map(
    (key) => new Set(local.layers.map((l) => claimOf(l, local.blobs, key)).filter((c) => c !== undefined)),
  );
  // Two keys signing one claim make layers with the same payload, so the same digest: a layer is
  // its digest and its signature annotation.
  const layerKey = (l: Descriptor) => `${l.digest} ${l.annotations?.[signatureAnnotation] ?? ''}`;
  const present = new Set(local.layers.map(layerKey));
  const kept: Descriptor[] = [];
  const refused: { layer: Descriptor; reason: string }[] = [];
  for (const layer of remote.layers) {
    if (present.has(layerKey(layer))) continue;
    const refusal = verificationFailure(layer, remote.blobs, options);
    if (refusal !== undefined) {
      refused.push({ layer, reason: refusal });
      continue;
    }
    const superseded = publicKeys.some((key, i) => {
      const claim = claimOf(layer, remote.blobs, key);
      return claim !== undefined && (replacedHere[i] as Set<string>).has(claim);
    });
    if (superseded) continue;
    present.add(layerKey(layer));
    kept.push(layer);
  }
  return { layers: [...local.layers, ...kept], refused };
}

/** Why one layer alone would fail verification, by the very rules above; undefined when it would not. */
function verificationFailure(
  layer: Descriptor,
  blobs: ReadonlyMap<string, Uint8Array>,
  options: { kind: 'signature' | 'attestation'; imageDigest: Digest; publicKeys: readonly KeyObject[] },
): string | undefined {
  const data = { manifest: { schemaVersion: 2, config: { ...layer, size: 0 }, layers: [layer] }, blobs };
  const { imageDigest, publicKeys } = options;
  if (publicKeys.length === 0) return undefined;
  try {
    if (options.kind === 'signature') verifySignatureManifest(data, { imageDigest, publicKeys });
    else verifyAttestationManifest(data, { imageDigest, publicKeys });
    return undefined;
  } catch (error) {
    if (!(error instanceof TrustError)) throw error;
    // Nothing trusted in it (another key's, or not even a layer of this kind): it is foreign, and kept.
    if (['SIGNATURE_INVALID', 'SIGNATURE_MISSING', 'ATTESTATION_MISSING'].includes(error.code))
      return undefined;
    return `${error.code}: ${error.message}`;
  }
}

/** True when `layer` (a `.sig` layer) already holds this payload signed by `publicKey`: cosign's dupe check. */
export function holdsSignature(
  layer: Descriptor,
  blobs: ReadonlyMap<string, Uint8Array>,
  options: { payload: Uint8Array; publicKey: KeyObject },
): boolean {
  const bytes = blobs.get(layer.digest);
  if (!bytes || !Buffer.from(bytes).equals(Buffer.from(options.payload))) return false;
  return verifyPayload(bytes, layer.annotations?.[signatureAnnotation] ?? '', options.publicKey);
}

/** True when `layer` (an `.att` layer) already holds this statement's envelope signed by `publicKey`. */
export function holdsAttestation(
  layer: Descriptor,
  blobs: ReadonlyMap<string, Uint8Array>,
  options: { statement: InTotoStatement; publicKey: KeyObject },
): boolean {
  const bytes = blobs.get(layer.digest);
  if (!bytes) return false;
  let envelope: DsseEnvelope;
  try {
    envelope = parseEnvelope(bytes);
  } catch {
    return false;
  }
  const payload = Buffer.from(JSON.stringify(options.statement)).toString('base64');
  return envelope.payload === payload && envelopeSignedBy(envelope, options.publicKey);
}

const WireDescriptor = z.object({
  mediaType: z.string(),
  digest: z.string().refine(isDigest, 'expected sha256:<64 hex>'),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** Only the fields verification reads; cosign may add more (certificates, bundles). */
const SignedManifest = z.object({
  schemaVersion: z.literal(2),
  config: WireDescriptor,
  layers: z.array(WireDescriptor),
});

function parseSignedManifest(
  json: unknown,
  context: { imageDigest: Digest; what: 'signature' | 'attestation' },
): { layers: Descriptor[] } {
  const parsed = SignedManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrustError(
      context.what === 'signature' ? 'SIGNATURE_INVALID' : 'ATTESTATION_INVALID',
      `${context.what} manifest of image ${context.imageDigest} is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return { layers: parsed.data.layers as Descriptor[] };
}

function checkedBlob(
  blobs: ReadonlyMap<string, Uint8Array>,
  layer: Descriptor,
  context: { imageDigest: Digest; what: string },
): Uint8Array {
  const bytes = blobs.get(layer.digest);
  if (!bytes) {
    throw new TrustError(
      'BLOB_MISSING',
      `${context.what} ${layer.digest} of image ${context.imageDigest} was not provided`,
    );
  }
  const actual = sha256Digest(bytes);
  if (actual !== layer.digest || bytes.byteLength !== layer.size) {
    throw new TrustError(
      'DIGEST_MISMATCH',
      `${context.what} ${layer.digest} of image ${context.imageDigest} is tampered: got ${actual} (${bytes.byteLength} bytes), expected ${layer.digest} (${layer.size} bytes)`,
    );
  }
  return bytes;
}

/** Layers of another media type than the manifest's kind: nobody's signature herd can read. */
function otherMediaTypes(layers: readonly Descriptor[], mediaType: string): ForeignLayer[] {
  return layers
    .filter((l) => l.mediaType !== mediaType)
    .map((l) => ({ layerDigest: l.digest, reason: `media type ${l.mediaType}, expected ${mediaType}` }));
}

function requireKeys(publicKeys: readonly KeyObject[], imageDigest: Digest): void {
  if (publicKeys.length === 0) {
    throw new TrustError(
      'KEY_INVALID',
      `no public key given to verify image ${imageDigest}: expected at least one`,
    );
  }
}

function keyCount(keys: readonly KeyObject[]): string {
  return keys.length === 1 ? 'key' : `${keys.length} keys`;
}
