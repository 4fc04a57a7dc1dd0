/**
 * The baseline an instance is compared with: the image's file manifest, by absolute path. It comes
 * only from a verified attestation (trusted-manifest.ts), never from the unsigned referrer.
 */
import type { FileManifestEntry } from '../oci/index.js';

export type { FileManifestEntry };

export type Baseline = ReadonlyMap<string, FileManifestEntry>;

export function baselineOf(entries: readonly FileManifestEntry[]): Baseline {
  return new Map(entries.map((entry) => [entry.path, entry]));
}
