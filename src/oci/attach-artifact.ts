/**
 * Attaches a document to an image as an OCI 1.1 artifact that refers to it: a manifest with
 * `artifactType`, the empty config, one layer holding the document, and `subject` pointing at the
 * image. Registries and `oras discover` list such manifests as the image's referrers.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidelines-for-artifact-usage
 */
import type { LayoutStore } from './layout-store.js';
import { type Descriptor, type ImageManifest, MediaType } from './types.js';

export async function attachArtifact(
  store: LayoutStore,
  subject: Descriptor,
  artifact: {
    artifactType: string;
    mediaType?: string;
    data: Uint8Array;
    annotations?: Record<string, string>;
  },
): Promise<Descriptor> {
  const config = await store.putBlob(Buffer.from('{}'), MediaType.empty);
  const layer = await store.putBlob(artifact.data, artifact.mediaType ?? artifact.artifactType);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType: artifact.artifactType,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(artifact.annotations ? { annotations: artifact.annotations } : {}),
  };
  const descriptor = await store.putJson(manifest, MediaType.imageManifest);
  const indexed = { ...descriptor, artifactType: artifact.artifactType };
  await store.addReferrer(subject.digest, indexed);
  return indexed;
}
