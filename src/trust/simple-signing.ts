/**
 * cosign's "simple signing" payload: the claim that a manifest digest is the image at a repository.
 * The bytes are what gets signed, so they are written by hand in the fixed key order cosign and
 * containers/image write (the spec's prose says `Docker-manifest-digest`; the code says lowercase).
 * Spec: https://github.com/containers/image/blob/main/docs/containers-signature.5.md
 * cosign: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
 */
import { type KeyObject, verify } from 'node:crypto';
import type { Digest } from '../oci/index.js';
import { isDigest } from '../oci/index.js';
import { TrustError } from './errors.js';
import { decodeGoJson, GoJsonError, goAny, goMap, goString, goStruct } from './go-json.js';
import { type Signer, signerOf } from './signer.js';

export const simpleSigningMediaType = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const simpleSigningType = 'cosign container image signature';

export interface SimpleSigningClaim {
  /** `<registry>/<repository>`, which podman's `signedIdentity` checks. */
  dockerReference: string;
  manifestDigest: Digest;
  /** cosign's `-a key=value` annotations; herd writes none, but reads what others wrote. */
  optional?: Record<string, unknown> | null;
}

export function simpleSigningPayload(claim: { dockerReference: string; manifestDigest: Digest }): Buffer {
  const payload = {
    critical: {
      identity: { 'docker-reference': claim.dockerReference },
      image: { 'docker-manifest-digest': claim.manifestDigest },
      type: simpleSigningType,
    },
    optional: null,
  };
  return Buffer.from(JSON.stringify(payload));
}

/** Base64 of the DER ECDSA-SHA256 signature, the value of `dev.cosignproject.cosign/signature`. */
export function signPayload(payload: Uint8Array, key: KeyObject | Signer): string {
  return signerOf(key).sign(payload).toString('base64');
}

/** True when `signatureB64` is `publicKey`'s signature over exactly these bytes. */
export function verifyPayload(payload: Uint8Array, signatureB64: string, publicKey: KeyObject): boolean {
  const signature = Buffer.from(signatureB64, 'base64');
  if (signature.length === 0) return false;
  try {
    return verify('sha256', payload, publicKey, signature);
  } catch {
    // A signature that is not even DER is just an invalid signature.
    return false;
  }
}

/**
 * The fields herd reads, as sigstore's `payload.SimpleContainerImage` declares them: cosign reads
 * the payload with Go's encoding/json, so `Critical` or `Docker-manifest-digest` count as well
 * (see go-json.ts). Anything else in `critical` or `optional` is left alone.
 */
const SimpleSigningPayload = goStruct({
  critical: goStruct({
    identity: goStruct({ 'docker-reference': goString }),
    image: goStruct({ 'docker-manifest-digest': goString }),
    type: goString,
  }),
  optional: goMap(goAny),
});

interface DecodedPayload {
  critical?: {
    identity?: { 'docker-reference'?: string };
    image?: { 'docker-manifest-digest'?: string };
    type?: string;
  };
  optional?: Record<string, unknown>;
}

/** Reads a payload that came from a registry or a store: untrusted until its signature verifies. */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningClaim {
  let decoded: DecodedPayload;
  try {
    decoded = decodeGoJson(Buffer.from(bytes).toString('utf8'), SimpleSigningPayload) as DecodedPayload;
  } catch (error) {
    if (!(error instanceof GoJsonError)) throw error;
    throw new TrustError(
      'PAYLOAD_INVALID',
      `simple signing payload is malformed at ${error.path || '(root)'}: ${error.message}`,
    );
  }
  const malformed = (path: string, why: string): never => {
    throw new TrustError('PAYLOAD_INVALID', `simple signing payload is malformed at ${path}: ${why}`);
  };
  const critical = decoded.critical ?? {};
  const dockerReference = critical.identity?.['docker-reference'] ?? '';
  const manifestDigest = critical.image?.['docker-manifest-digest'] ?? '';
  const type = critical.type ?? '';
  if (type !== simpleSigningType) {
    malformed('critical.type', `got ${JSON.stringify(type)}, expected ${JSON.stringify(simpleSigningType)}`);
  }
  if (dockerReference === '') malformed('critical.identity.docker-reference', 'missing or empty');
  if (!isDigest(manifestDigest)) {
    malformed(
      'critical.image.docker-manifest-digest',
      `got ${JSON.stringify(manifestDigest)}, expected sha256:<64 hex>`,
    );
  }
  return {
    dockerReference,
    manifestDigest: manifestDigest as Digest,
    // Go leaves a nil map for a missing or null "optional"; both read as null here.
    optional: decoded.optional ?? null,
  };
}
