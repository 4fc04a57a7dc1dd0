/**
 * An image's files as its signer vouched for them (trusted-manifest.ts), for an engine that compares
 * what an instance holds with them itself: KubernetesEngine's drift probe (its `imageFiles` option).
 * The engine layer may not verify signatures; it is handed this. An image whose manifest does not
 * verify is an error, never an empty list (which would make every file read as added).
 */
import type { KeyObject } from 'node:crypto';
import type { Digest, FileManifestEntry, LayoutStore } from '../oci/index.js';
import { WatchError } from './errors.js';
import { loadTrustedBaseline } from './trusted-manifest.js';

export function trustedImageFiles(
  store: LayoutStore,
  options: { publicKeys: () => Promise<readonly KeyObject[]> },
): (digest: Digest) => Promise<readonly FileManifestEntry[]> {
  return async (digest) => {
    const loaded = await loadTrustedBaseline(store, digest, { publicKeys: await options.publicKeys() });
    if (loaded.kind === 'untrusted') {
      const code =
        loaded.code === 'MANIFEST_MISSING' || loaded.code === 'MANIFEST_INVALID'
          ? loaded.code
          : 'MANIFEST_UNTRUSTED';
      throw new WatchError(code, `the file list of ${digest} is not trusted: ${loaded.reason}`);
    }
    return [...loaded.baseline.values()];
  };
}
