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
import { RegistryError } from './errors.js';

export type CosignKind = 'signature' | 'attestation';

export const cosignKinds: CosignKind[] = ['signature', 'attestation'];

export function cosignTag(digest: Digest, kind: CosignKind): string {
  return `sha256-${hexOf(digest)}.${kind === 'signature' ? 'sig' : 'att'}`;
}

export function referrersTag(digest: Digest): string {
  return `sha256-${hexOf(digest)}`;
}

/**
 * Endless data: anyone who can push to a repository can add layers under an image's `.sig` and
 * `.att` tags, and herd fetches them before it judges whose they are. cosign's own bounds: at most
 * 1000 layers (GHSA-vfp6-jrw2-99g9) and 128 MiB per attachment (GHSA-88jx-383q-w4qc,
 * COSIGN_MAX_ATTACHMENT_SIZE). The total is bounded too, since verification reads them all into
 * memory; herd's own attestations (SBOMs, file manifest, verdict) are a few MB.
 */
export const cosignManifestLimits = {
  maxLayers: 1000,
  maxLayerBytes: 128 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

/** Refuses, before any blob is fetched, a cosign manifest beyond `cosignManifestLimits`. */
export function checkCosignManifestBounds(
  manifest: { layers: readonly { digest: string; size: number }[] },
  what: string,
  limits = cosignManifestLimits,
): void {
  const { layers } = manifest;
  if (layers.length > limits.maxLayers) {
    throw new RegistryError(
      'TOO_LARGE',
      `${what} holds ${layers.length} layers, expected at most ${limits.maxLayers}`,
    );
  }
  let total = 0;
  for (const layer of layers) {
    if (layer.size > limits.maxLayerBytes) {
      throw new RegistryError(
        'TOO_LARGE',
        `${what}: layer ${layer.digest} is ${layer.size} bytes, expected at most ${limits.maxLayerBytes}`,
      );
    }
    total += layer.size;
  }
  if (total > limits.maxTotalBytes) {
    throw new RegistryError(
      'TOO_LARGE',
      `${what}: its layers hold ${total} bytes, expected at most ${limits.maxTotalBytes}`,
    );
  }
}
