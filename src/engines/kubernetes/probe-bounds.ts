/**
 * Whether the drift probe can list an image at all. The probe fails past 200,000 entries or 8 MiB
 * of listing (its defaults in probe/drift-probe.mjs, which stands alone and cannot import these:
 * 8 MiB stays under the 10 MiB the kubelet keeps of a log by default). An image whose own files
 * already come near either bound would fail every probe, and the integrity monitor takes a probe
 * that keeps failing for an intruder blinding it: the pods would be replaced every few minutes for
 * the image's size. Such an image is told apart before any probe is added, as UNSUPPORTED, which
 * the monitor does not count as blinding.
 */
import type { FileManifestEntry } from '../../oci/index.js';

export const probeMaxEntries = 200_000;
export const probeMaxBytes = 8 << 20;

/**
 * Room kept for what the running instance adds (files in a writable root, the listing's own
 * fields beyond the manifest's, such as `unreadable` and `ino`): the image may fill 3/4 of a bound.
 */
const headroom = 0.75;

/** Why the probe cannot list this image, or undefined when it can. */
export function probeBoundExceeded(image: readonly FileManifestEntry[]): string | undefined {
  if (image.length > probeMaxEntries * headroom) {
    return `its image lists ${image.length} files, near the probe's bound of ${probeMaxEntries} entries`;
  }
  let bytes = 0;
  for (const entry of image) bytes += Buffer.byteLength(JSON.stringify(entry)) + 1;
  if (bytes > probeMaxBytes * headroom) {
    return `its image's listing comes to about ${bytes} bytes, near the probe's bound of ${probeMaxBytes} (the kubelet keeps 10 MiB of a log)`;
  }
  return undefined;
}
