import type { Digest, LayoutStore } from '../oci/index.js';

/** The service an image was built for: its title label, as herd build sets it. */
export async function imageService(store: LayoutStore, digest: Digest): Promise<string> {
  const manifest = await store.getManifest(digest);
  return manifest.annotations?.['org.opencontainers.image.title'] ?? 'image';
}
