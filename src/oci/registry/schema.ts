/**
 * What the client reads from registries, validated at this edge and nowhere else. Each schema
 * lists only the fields herd uses; a manifest's bytes are stored as received, so dropping unknown
 * fields here loses nothing.
 * Manifests: https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md
 * Errors: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
 * Tokens: https://distribution.github.io/distribution/spec/auth/token/#token-response-fields
 */
import { z } from 'zod';

export const ManifestMediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');

export const Descriptor = z.object({
  mediaType: z.string(),
  digest: Digest,
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).optional(),
});
export type Descriptor = z.infer<typeof Descriptor>;

export const ImageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: Descriptor,
  layers: z.array(Descriptor),
  subject: Descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof ImageManifest>;

export const ImageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(Descriptor),
});
export type ImageIndex = z.infer<typeof ImageIndex>;

export const ErrorBody = z.object({
  errors: z.array(z.object({ code: z.string(), message: z.string().optional() })),
});

export const TokenResponse = z.object({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});

export const ImageConfigPlatform = z.object({ architecture: z.string(), os: z.string() });
