/**
 * Where cosign keeps an image's signatures and attestations: tags derived from the image digest,
 * `sha256-<hex>.sig` and `sha256-<hex>.att`, in the image's repository. herd's store uses the same
 * strings as index.json ref names. The `sha256-<hex>` tag (no suffix) is the OCI 1.1 referrers tag
 * schema, for registries without the referrers API.
 * cosign: https://github.com/sigstore/cosign/blob/v2.2.0/specs/SIGNATURE_SPEC.md
 * Referrers tag schema: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#referrers-tag-schema
 */
import { hexOf } from '../digest.js';
import type { Digest } from '../types.js';

export type CosignKind = 'signature' | 'attestation';

export const cosignKinds: CosignKind[] = ['signature', 'attestation'];

export function cosignTag(digest: Digest, kind: CosignKind): string {
  return `sha256-${hexOf(digest)}.${kind === 'signature' ? 'sig' : 'att'}`;
}

export function referrersTag(digest: Digest): string {
  return `sha256-${hexOf(digest)}`;
}
