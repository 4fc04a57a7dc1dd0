/** What other folders use of src/oci/ (docs/architecture.md, "Public entries"). */
export { exportDockerArchive, exportOciArchive } from './archive-export.js';
export { attachArtifact } from './attach-artifact.js';
export { CacheSeal } from './cache-seal.js';
export { type Compression, decompressChunks, decompressToBuffer } from './decompress.js';
export { hexOf, isDigest, sha256Digest, shortDigest } from './digest.js';
export { OciError } from './errors.js';
export { type FileManifest, type FileManifestEntry, fileManifestMediaType } from './file-manifest-format.js';
export {
  type FileContentRef,
  flattenLayers,
  type LayerEntries,
  type LayerEntry,
  type Rootfs,
  type RootfsNode,
  sortedRootfs,
} from './flatten-layers.js';
export {
  type CachedLayer,
  type CachedLayerSource,
  FlattenedLayerCache,
  type FlattenedLayerCacheOptions,
} from './flattened-layer-cache.js';
export { igzipChunks, layerEncodingOf } from './igzip.js';
export { layerTarOf } from './layer-tar.js';
export {
  isReferrerEntry,
  LayoutStore,
  type QuarantineReason,
  quarantineOf,
  refNameAnnotation,
} from './layout-store.js';
export { AuthFileCredentials } from './registry/auth-file-credentials.js';
export { pullBlobArtifact, pushBlobArtifact } from './registry/blob-artifact.js';
export { type Credentials, chainCredentials } from './registry/credentials.js';
export { EnvCredentials } from './registry/env-credentials.js';
export { type PullResult, pullImage } from './registry/pull-image.js';
export { type PushResult, pushImage } from './registry/push-image.js';
export { isRegistryReference, parseImageReference } from './registry/reference.js';
export { withStoreLock } from './store-lock.js';
export {
  normalizeArchivePath,
  readTar,
  rejectionReason,
  sortTarEntries,
  symlinkEscapes,
  type TarEntry,
  type TarReadEntry,
  writeTar,
} from './tar.js';
export { type StreamedTarEntry, tarChunks } from './tar-chunks.js';
export {
  firstFileHead,
  readHead,
  readTarStream,
  type StreamEntry,
  type TarStreamItem,
  type TarStreamLimits,
} from './tar-stream.js';
export {
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
} from './types.js';
