/**
 * cosign's "simple signing" payload: the claim that a manifest digest is the image at a repository.
 * The bytes are what gets signed, so they are written by hand in the fixed key order cosign and
 * containers/image write (the spec's prose says `Docker-manifest-digest`; the code says lowercase).
 * Spec: https://github.com/containers/image/blob/main/docs/containers-signature.5.md
 * cosign: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
 */
import { type KeyObject, verify } from 'node:crypto';
import { z } from 'zod';
import { isDigest } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import { TrustError } from './errors.js';
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

/** Only the fields herd reads; anything else in `critical` or `optional` is left alone. */
const SimpleSigningPayload = z.object({
  critical: z.object({
    identity: z.object({ 'docker-reference': z.string() }),
    image: z.object({ 'docker-manifest-digest': z.string().refine(isDigest, 'expected sha256:<64 hex>') }),
    type: z.literal(simpleSigningType),
  }),
  optional: z.record(z.string(), z.unknown()).nullish(),
});

/** Reads a payload that came from a registry or a store: untrusted until its signature verifies. */
export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningClaim {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new TrustError('PAYLOAD_INVALID', 'simple signing payload is not JSON');
  }
  const parsed = SimpleSigningPayload.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrustError(
      'PAYLOAD_INVALID',
      `simple signing payload is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const { critical, optional } = parsed.data;
  return {
    dockerReference: critical.identity['docker-reference'],
    manifestDigest: critical.image['docker-manifest-digest'] as Digest,
    ...(optional !== undefined ? { optional } : {}),
  };
}
