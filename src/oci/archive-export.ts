/**
 * Exports one image from the store as a single tar, for tools that load files rather than pull
 * from a registry: an OCI archive (`skopeo copy oci-archive:…`, `podman load`) or a docker-archive
 * (`docker load`). Every blob is read through the store, which re-hashes it, and every layer's
 * uncompressed bytes are checked against the config's diff_ids, so an archive never carries bytes
 * its image does not name. The tar itself is deterministic: sorted entries, mtime 0, root owner.
 */

import { compactJson } from '../common/index.js';
import { decompressToBuffer } from './decompress.js';
import { hexOf, sha256Digest } from './digest.js';
import { OciError } from './errors.js';
import { type LayoutStore, refNameAnnotation } from './layout-store.js';
import { sortTarEntries, type TarEntry, writeTar } from './tar.js';
import { type Descriptor, type Digest, type ImageConfig, type ImageIndex, MediaType } from './types.js';

/**
 * An OCI image layout, tarred: oci-layout, index.json naming the one manifest, and the manifest,
 * config and layer blobs under blobs/sha256/.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
 */
export async function exportOciArchive(
  store: LayoutStore,
  digest: Digest,
  options: { refName: string },
): Promise<Buffer> {
  const image = await readImage(store, digest);
  const descriptor: Descriptor = {
    mediaType: MediaType.imageManifest,
    digest,
    size: image.manifestBytes.length,
    annotations: { [refNameAnnotation]: options.refName },
    platform: { architecture: image.config.architecture, os: image.config.os },
  };
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [descriptor] };

  const archive = new ArchiveEntries();
  archive.addFile('oci-layout', Buffer.from(compactJson({ imageLayoutVersion: '1.0.0' })));
  archive.addFile('index.json', Buffer.from(compactJson(index)));
  archive.addDir('blobs');
  archive.addDir('blobs/sha256');
  archive.addFile(`blobs/sha256/${hexOf(digest)}`, image.manifestBytes);
  archive.addFile(`blobs/sha256/${hexOf(image.manifest.config.digest)}`, image.configBytes);
  for (const layer of image.manifest.layers) {
    archive.addFile(`blobs/sha256/${hexOf(layer.digest)}`, await store.getBlob(layer.digest));
  }
  return archive.toTar();
}

/**
 * The `docker save` format: manifest.json, the config as `<config hex>.json`, each layer
 * uncompressed at `<diff_id hex>/layer.tar`, and the legacy `repositories` file older loaders read.
 * Format: https://github.com/moby/moby/blob/master/image/spec/v1.2.md (Combined Image JSON + Filesystem Changeset Format)
 */
export async function exportDockerArchive(
  store: LayoutStore,
  digest: Digest,
  options: { repoTag: string },
): Promise<Buffer> {
  const image = await readImage(store, digest);
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== image.manifest.layers.length) {
    throw new OciError(
      'MANIFEST_INVALID',
      `image ${digest} has ${image.manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
    );
  }

  const archive = new ArchiveEntries();
  const configName = `${hexOf(image.manifest.config.digest)}.json`;
  archive.addFile(configName, image.configBytes);
  const layerPaths: string[] = [];
  for (const [position, layer] of image.manifest.layers.entries()) {
    const diffId = diffIds[position] as Digest;
    const dir = hexOf(diffId);
    layerPaths.push(`${dir}/layer.tar`);
    const tar = await uncompressedLayer(layer, await store.getBlob(layer.digest));
    const actual = sha256Digest(tar);
    if (actual !== diffId) {
      throw new OciError(
        'DIGEST_MISMATCH',
        `layer ${position} (${layer.digest}) of image ${digest} uncompresses to ${actual}, config diff_ids says ${diffId}`,
      );
    }
    archive.addDir(dir);
    archive.addFile(`${dir}/layer.tar`, tar);
  }

  const manifest = [{ Config: configName, RepoTags: [options.repoTag], Layers: layerPaths }];
  archive.addFile('manifest.json', Buffer.from(compactJson(manifest)));
  const { repository, tag } = splitRepoTag(options.repoTag);
  const topLayer = layerPaths.at(-1)?.split('/')[0];
  if (topLayer) {
    archive.addFile('repositories', Buffer.from(compactJson({ [repository]: { [tag]: topLayer } })));
  }
  return archive.toTar();
}

interface StoredImage {
  manifest: { config: Descriptor; layers: Descriptor[] };
  manifestBytes: Buffer;
  config: ImageConfig;
  configBytes: Buffer;
}

/** The manifest and config, verified against their digests; exported byte for byte, never re-serialized. */
async function readImage(store: LayoutStore, digest: Digest): Promise<StoredImage> {
  const manifest = await store.getManifest(digest);
  const manifestBytes = await store.getBlob(digest);
  const configBytes = await store.getBlob(manifest.config.digest);
  let config: ImageConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new OciError(
      'MANIFEST_INVALID',
      `config ${manifest.config.digest} of image ${digest} is not valid JSON`,
    );
  }
  if (!Array.isArray(config.rootfs?.diff_ids)) {
    throw new OciError(
      'MANIFEST_INVALID',
      `config ${manifest.config.digest} of image ${digest} has no rootfs.diff_ids`,
    );
  }
  return { manifest, manifestBytes, config, configBytes };
}

/** The largest layer an export inflates; it is held in memory to be written into the archive. */
const maxLayerBytes = 2 * 1024 ** 3;

/** docker-archive layers are plain tars: gzip layers are inflated (within a cap), plain tar layers pass through. */
async function uncompressedLayer(layer: Descriptor, blob: Buffer): Promise<Buffer> {
  if (layer.mediaType.endsWith('tar+gzip') || layer.mediaType.endsWith('tar.gzip')) {
    try {
      return await decompressToBuffer(blob, {
        compression: 'gzip',
        name: `layer ${layer.digest}`,
        maxBytes: maxLayerBytes,
      });
    } catch (error) {
      if (error instanceof OciError && error.code === 'DECOMPRESSED_TOO_LARGE') throw error;
      throw new OciError('MANIFEST_INVALID', `layer ${layer.digest} is not valid gzip`, { cause: error });
    }
  }
  if (layer.mediaType === MediaType.layerTar || layer.mediaType.endsWith('.tar')) return blob;
  throw new OciError(
    'MANIFEST_INVALID',
    `layer ${layer.digest} has media type ${layer.mediaType}, expected a tar or tar+gzip layer`,
  );
}

/** `registry:5000/team/hello:1.2` → repository `registry:5000/team/hello`, tag `1.2`; no tag means latest. */
function splitRepoTag(repoTag: string): { repository: string; tag: string } {
  const colon = repoTag.lastIndexOf(':');
  if (colon > repoTag.lastIndexOf('/'))
    return { repository: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) };
  return { repository: repoTag, tag: 'latest' };
}

/** The archive's entries by path (a layer used twice is stored once): root-owned, mtime 0, in path order. */
class ArchiveEntries {
  private readonly entries = new Map<string, TarEntry>();

  addDir(path: string): void {
    this.entries.set(path, { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 });
  }

  addFile(path: string, data: Buffer): void {
    this.entries.set(path, {
      path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: 0,
      data,
    });
  }

  toTar(): Buffer {
    return writeTar(sortTarEntries([...this.entries.values()]));
  }
}
