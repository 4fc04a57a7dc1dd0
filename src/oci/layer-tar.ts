/**
 * A layer blob as the tar it holds: a plain tar passes through, a gzip one is inflated within a
 * cap (a bomb is DECOMPRESSED_TOO_LARGE, broken gzip DECOMPRESS_FAILED), and any other media type
 * is LAYER_UNSUPPORTED. The build (its base) and the gate read layers through it.
 * Layer media types: https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md
 */
import { decompressToBuffer } from './decompress.js';
import { OciError } from './errors.js';
import { type Descriptor, MediaType } from './types.js';

/** OCI's, and Docker's for images pulled in the Docker v2 schema 2 format. */
const gzipLayerTypes: ReadonlySet<string> = new Set([
  MediaType.layerGzip,
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

export async function layerTarOf(
  blob: Buffer,
  layer: Pick<Descriptor, 'digest' | 'mediaType'>,
  options: { maxBytes: number; name?: string },
): Promise<Buffer> {
  const name = options.name ?? `layer ${layer.digest}`;
  if (layer.mediaType === MediaType.layerTar) return blob;
  if (!gzipLayerTypes.has(layer.mediaType)) {
    throw new OciError(
      'LAYER_UNSUPPORTED',
      `${name} is a ${layer.mediaType}, expected a tar or gzip layer (${MediaType.layerGzip} or ${MediaType.layerTar})`,
    );
  }
  return await decompressToBuffer(blob, { compression: 'gzip', name, maxBytes: options.maxBytes });
}
