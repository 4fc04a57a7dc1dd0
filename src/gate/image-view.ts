/**
 * Everything the gate judges about one image, gathered once: its config, its root filesystem (the
 * layers applied in order), the file manifest attached to it, the packages in its dpkg database,
 * and, when the caller hands in the image's herd.lock, the suite each package came from.
 *
 * `imageViewOf` is pure and builds a view from parts; `loadImageView` is the effect that reads the
 * parts from the store. Handed the flattened-layer cache (src/oci), it reads every file's metadata
 * from the cache's sealed indexes (a layer not cached yet is decompressed once, into the cache) and
 * the bytes of only the files the rules read (`ruleReadsContent`); the secret scan reads the rest
 * through `view.contents`, file by file. Without the cache, the layers are decompressed in memory
 * and file bytes are views into them.
 */
import { availableParallelism } from 'node:os';
import {
  arrayAt,
  at,
  countAt,
  objectAt,
  oneOfAt,
  optionalStringAt,
  ShapeError,
  stringAt,
} from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import type { LayoutStore } from '../oci/index.js';
import {
  type Digest,
  type FileManifestEntry,
  FlattenedLayerCache,
  fileManifestMediaType,
  flattenLayers,
  type ImageConfig,
  type ImageManifest,
  isDigest,
  type LayerEntries,
  layerTarOf,
  MediaType,
  OciError,
  type Rootfs,
  type RootfsNode,
  readTar,
} from '../oci/index.js';
import { type InstalledPackage, readDpkgDatabase } from './dpkg-database.js';
import { GateError } from './errors.js';
import { type LockFacts, lockDigestLabel, lockFactsOf } from './lock-facts.js';

/** The artifact type the file manifest is attached under. */
export const fileManifestArtifactType = fileManifestMediaType;
export type { FileManifestEntry };

/** The image config as the gate reads it: the OCI fields plus Docker's Healthcheck extension. */
export interface ViewConfig extends ImageConfig {
  config: ImageConfig['config'] & { Healthcheck?: { Test?: string[] } };
}

export type AttachedFileManifest =
  | { kind: 'attached'; digest: Digest; entries: FileManifestEntry[] }
  | { kind: 'missing' };

export interface ViewPackage extends InstalledPackage {
  /** The suite the lock resolved it from; absent when no lock was handed in or the lock lacks it. */
  suite?: string;
}

export interface ImageView {
  digest: Digest;
  config: ViewConfig;
  /** Every path in the image, absolute, in file manifest order. */
  files: ReadonlyMap<string, RootfsNode>;
  fileManifest: AttachedFileManifest;
  packages: readonly ViewPackage[];
  /** Path → the package that ships it, from the dpkg database. App files and herd's own files are absent. */
  owners: ReadonlyMap<string, string>;
  /** The image's herd.lock, checked against its label, when the caller had it. */
  lock?: LockFacts;
  /** A file's bytes, whether the view holds them (`data`) or the flattened-layer cache does. */
  contents: FileContents;
  /**
   * Per package, the maintainer script lines the build did not reproduce, from the provenance the
   * build attached; absent when no provenance is attached.
   */
  unreproducedScripts?: readonly UnreproducedScript[];
}

export interface UnreproducedScript {
  package: string;
  lines: readonly string[];
}

export interface FileContents {
  /** The bytes of a regular file of the view; checked against the cache's sealed index when read from it. */
  read(node: RootfsNode): Promise<Buffer>;
}

/** A view whose files carry their bytes (read in memory, or built by memory-image.ts). */
const heldContents: FileContents = { read: async (node) => node.data ?? Buffer.alloc(0) };

function cachedContents(cache: FlattenedLayerCache): FileContents {
  return {
    read: async (node) => {
      if (node.data || !node.content) return node.data ?? Buffer.alloc(0);
      return await cache.read(node.content, node.size, node.path);
    },
  };
}

/**
 * The files whose bytes the rules and the view read (accounts, os-release, the dpkg database);
 * loaded with the view, so the rules stay pure. Every other file's bytes are read by the secret
 * scan only, through `view.contents`.
 */
export function ruleReadsContent(path: string): boolean {
  if (ruleFiles.has(path)) return true;
  if (path.startsWith('/var/lib/dpkg/status.d/')) return true;
  return path.startsWith('/var/lib/dpkg/info/') && path.endsWith('.list');
}

const ruleFiles: ReadonlySet<string> = new Set([
  '/etc/passwd',
  '/etc/group',
  '/etc/shadow',
  '/etc/os-release',
  '/usr/lib/os-release',
  '/var/lib/dpkg/status',
]);

export function imageViewOf(parts: {
  digest: Digest;
  config: ViewConfig;
  rootfs: Rootfs;
  fileManifest: AttachedFileManifest;
  lock?: LockFacts;
  unreproducedScripts?: readonly UnreproducedScript[];
  /** Where bytes the rootfs does not hold are read; by default, none are missing. */
  contents?: FileContents;
}): ImageView {
  const { packages, owners } = readDpkgDatabase(parts.rootfs);
  const suiteOf = new Map(
    (parts.lock?.packages ?? []).map((p) => [`${p.name} ${p.version} ${p.architecture}`, p.suite]),
  );
  return {
    digest: parts.digest,
    config: parts.config,
    files: parts.rootfs,
    fileManifest: parts.fileManifest,
    packages: packages.map((pkg) => {
      const suite = suiteOf.get(`${pkg.name} ${pkg.version} ${pkg.architecture}`);
      return suite === undefined ? pkg : { ...pkg, suite };
    }),
    owners,
    contents: parts.contents ?? heldContents,
    ...(parts.lock ? { lock: parts.lock } : {}),
    ...(parts.unreproducedScripts ? { unreproducedScripts: parts.unreproducedScripts } : {}),
  };
}

export interface LoadImageViewOptions {
  /** The bytes of the herd.lock the image was built from; checked against `dev.herd.lock.digest`. */
  lockFile?: Uint8Array | string;
  /** Read the layers through this cache (HERD_HOME/cache/flattened) instead of in memory. */
  layerCache?: FlattenedLayerCache;
}

export async function loadImageView(
  store: LayoutStore,
  digest: string,
  options: LoadImageViewOptions = {},
): Promise<ImageView> {
  const manifest = await imageManifestOf(store, digest);
  const image = digest as Digest;
  const config = configOf(await store.getJson<unknown>(manifest.config.digest), image);
  // The lock is checked before the layers are read: a wrong lock is the caller's mistake, found cheaply.
  const label = config.config.Labels?.[lockDigestLabel];
  const lock =
    options.lockFile === undefined
      ? undefined
      : lockFactsOf(options.lockFile, { digest: image, ...(label ? { label } : {}) });
  const cache = options.layerCache;
  const rootfs = cache
    ? await withRuleContent(rootfsOf(await cachedLayers(store, { manifest, config, image, cache })), cache)
    : rootfsOf(await heldLayers(store, manifest));
  return imageViewOf({
    digest: image,
    config,
    rootfs,
    fileManifest: await attachedFileManifest(store, image),
    ...(lock ? { lock } : {}),
    ...(await unreproducedScriptsOf(store, image)),
    ...(cache ? { contents: cachedContents(cache) } : {}),
  });
}

/** Decompressed side by side (zlib runs on the thread pool), then read in memory. */
async function heldLayers(store: LayoutStore, manifest: ImageManifest): Promise<LayerEntries[]> {
  const tars = await Promise.all(
    manifest.layers.map(async (layer) => ({ digest: layer.digest, tar: await layerTar(store, layer) })),
  );
  return tars.map(({ digest, tar }) => ({ digest, entries: layerEntriesOf(digest, tar) }));
}

/**
 * Each layer's entries from the cache, by the diff_id the config names for it; a layer read for
 * the first time is decompressed into the cache (side by side) and checked against that diff_id.
 */
async function cachedLayers(
  store: LayoutStore,
  context: { manifest: ImageManifest; config: ViewConfig; image: Digest; cache: FlattenedLayerCache },
): Promise<LayerEntries[]> {
  const { manifest, config, image, cache } = context;
  // The cache is keyed by diff_id, so each must be a digest (the schema above leaves rootfs alone).
  const diffIds: unknown = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((id) => typeof id === 'string' && isDigest(id))) {
    throw new GateError(
      'IMAGE_INVALID',
      `the config of image ${image} has no rootfs.diff_ids list of digests`,
    );
  }
  if (diffIds.length !== manifest.layers.length) {
    throw new GateError(
      'IMAGE_INVALID',
      `image ${image} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
    );
  }
  const layerAt = async (i: number): Promise<LayerEntries> => {
    const layer = manifest.layers[i] as ImageManifest['layers'][number];
    try {
      return await cache.layer(store, layer, diffIds[i] as Digest);
    } catch (cause) {
      if (!(cause instanceof OciError)) throw cause;
      const code =
        cause.code === 'DECOMPRESSED_TOO_LARGE' || cause.code === 'LAYER_UNSUPPORTED'
          ? cause.code
          : 'LAYER_INVALID';
      throw new GateError(code, `layer ${layer.digest}: ${cause.message}`, { cause });
    }
  };
  // As many layers at once as there are cores: a cold read decompresses each, and more at once
  // would only hold more buffers (memory), not finish sooner.
  const layers: LayerEntries[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < manifest.layers.length; i = next++) layers[i] = await layerAt(i);
  };
  await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
  return layers;
}

/** The rootfs with the bytes of the files the rules read, from the cache (checked against its seal). */
async function withRuleContent(rootfs: Rootfs, cache: FlattenedLayerCache): Promise<Rootfs> {
  const contents = cachedContents(cache);
  const reads = [...rootfs.values()]
    .filter((node) => node.type === 'file' && ruleReadsContent(node.path))
    .map(async (node) => rootfs.set(node.path, { ...node, data: await contents.read(node) }));
  try {
    await Promise.all(reads);
  } finally {
    await cache.close();
  }
  return rootfs;
}

/** A tar the reader refuses is the layer's fault: LAYER_INVALID naming its digest, as the build names it. */
function layerEntriesOf(digest: Digest, tar: Buffer): LayerEntries['entries'] {
  try {
    return readTar(tar, tarLimits);
  } catch (cause) {
    if (!(cause instanceof OciError)) throw cause;
    throw new GateError('LAYER_INVALID', `layer ${digest}: ${cause.message}`, { cause });
  }
}

/**
 * The layers flattened by the same reader and rules as the build's base: an entry the build would
 * refuse (under a link, a link climbing above the root, a whiteout naming nothing) fails the load.
 */
function rootfsOf(layers: readonly LayerEntries[]): Rootfs {
  try {
    return flattenLayers(layers);
  } catch (cause) {
    if (!(cause instanceof OciError) || cause.code !== 'LAYER_UNSAFE') throw cause;
    throw new GateError('LAYER_INVALID', cause.message, { cause });
  }
}

const provenanceArtifactType = 'application/vnd.in-toto+json';

/**
 * What the build's provenance says it could not do in place of the maintainer scripts. Read only
 * to warn: a provenance that is missing or says something else gives no list, never a failure.
 */
async function unreproducedScriptsOf(
  store: LayoutStore,
  digest: Digest,
): Promise<{ unreproducedScripts?: UnreproducedScript[] }> {
  const [referrer] = await store.referrers(digest, { artifactType: provenanceArtifactType });
  if (!referrer) return {};
  const artifact = await store.getManifest(referrer.digest);
  const layer = artifact.layers[0];
  if (artifact.subject?.digest !== digest || !layer) return {};
  const document = await store.getJson<unknown>(layer.digest).catch(() => undefined);
  const listed = (
    document as
      | {
          predicate?: {
            buildDefinition?: { internalParameters?: { maintainerScripts?: { unreproduced?: unknown } } };
          };
        }
      | undefined
  )?.predicate?.buildDefinition?.internalParameters?.maintainerScripts?.unreproduced;
  if (!Array.isArray(listed)) return {};
  const scripts = listed.filter(
    (entry): entry is UnreproducedScript =>
      typeof entry?.package === 'string' &&
      Array.isArray(entry.lines) &&
      entry.lines.every((line: unknown) => typeof line === 'string'),
  );
  return { unreproducedScripts: scripts };
}

/** HERD_HOME's flattened-layer cache, with the gate's bounds on a layer. */
export function gateLayerCache(
  home: Pick<HerdHome, 'flattenedLayerCache' | 'cacheSealKey'>,
): FlattenedLayerCache {
  return new FlattenedLayerCache(home.flattenedLayerCache, {
    sealKey: home.cacheSealKey,
    maxLayerBytes,
    maxEntries: tarLimits.maxEntries,
  });
}

/** Bounds for hostile layers: more than a million entries is not a service image. */
const tarLimits = { maxEntries: 1_000_000 };
/** The largest layer the gate decompresses; beyond it the image is refused rather than read. */
const maxLayerBytes = 2 * 1024 ** 3;

async function imageManifestOf(store: LayoutStore, digest: string): Promise<ImageManifest> {
  if (!isDigest(digest)) {
    throw new GateError(
      'IMAGE_UNKNOWN',
      `no image ${digest} in the store: expected a digest sha256:<64 hex>`,
    );
  }
  let manifest: ImageManifest;
  try {
    manifest = await store.getManifest(digest);
  } catch (error) {
    if (error instanceof OciError && error.code === 'BLOB_NOT_FOUND') {
      throw new GateError('IMAGE_UNKNOWN', `no image ${digest} in the store at ${store.root}`, {
        cause: error,
      });
    }
    if (error instanceof OciError && error.code === 'MANIFEST_INVALID') {
      throw new GateError('IMAGE_INVALID', `${digest} is not an image manifest`, { cause: error });
    }
    throw error;
  }
  if (manifest.subject || !imageConfigTypes.has(manifest.config.mediaType)) {
    throw new GateError(
      'IMAGE_INVALID',
      `${digest} is an artifact (config ${manifest.config.mediaType}${manifest.subject ? `, about ${manifest.subject.digest}` : ''}), expected an image with config ${MediaType.imageConfig}`,
    );
  }
  return manifest;
}

/** OCI's, and Docker's for images pulled in the Docker v2 schema 2 format. */
const imageConfigTypes = new Set<string>([
  MediaType.imageConfig,
  'application/vnd.docker.container.image.v1+json',
]);

async function layerTar(store: LayoutStore, layer: { digest: Digest; mediaType: string }): Promise<Buffer> {
  const blob = await store.getBlob(layer.digest);
  try {
    return await layerTarOf(blob, layer, { maxBytes: maxLayerBytes });
  } catch (cause) {
    if (!(cause instanceof OciError)) throw cause;
    const code =
      cause.code === 'DECOMPRESSED_TOO_LARGE' || cause.code === 'LAYER_UNSUPPORTED'
        ? cause.code
        : 'LAYER_INVALID';
    throw new GateError(code, cause.message, { cause });
  }
}

/**
 * Only the fields the gate reads are checked; the rest of the config passes through. Checked by
 * hand (src/common/json-shape.ts), as zod would cost every gate its schema's first compile.
 */
function checkConfigShape(data: unknown): void {
  const config = objectAt(data, '');
  stringAt(config.architecture, 'architecture');
  stringAt(config.os, 'os');
  if (config.config === undefined) return;
  const inner = objectAt(config.config, 'config');
  optionalStringAt(inner.User, 'config.User');
  if (inner.Env !== undefined) arrayAt(inner.Env, 'config.Env', stringAt);
  if (inner.Labels !== undefined && inner.Labels !== null) {
    const labels = objectAt(inner.Labels, 'config.Labels');
    for (const [key, value] of Object.entries(labels)) stringAt(value, at('config.Labels', key));
  }
  if (inner.Healthcheck !== undefined && inner.Healthcheck !== null) {
    const health = objectAt(inner.Healthcheck, 'config.Healthcheck');
    if (health.Test !== undefined) arrayAt(health.Test, 'config.Healthcheck.Test', stringAt);
  }
}

function configOf(data: unknown, digest: Digest): ViewConfig {
  try {
    checkConfigShape(data);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new GateError(
      'IMAGE_INVALID',
      `the config of image ${digest} is not an image config: ${error.message}`,
    );
  }
  const raw = data as ViewConfig;
  // `config` may be absent or hold nulls (Docker writes `"Labels": null`); rules read plain values.
  const { Labels, Healthcheck, ...rest } = (raw.config ?? {}) as ViewConfig['config'] & {
    Labels?: Record<string, string> | null;
    Healthcheck?: { Test?: string[] } | null;
  };
  return {
    ...raw,
    config: { ...rest, ...(Labels ? { Labels } : {}), ...(Healthcheck ? { Healthcheck } : {}) },
  };
}

const fileManifestTypes = ['file', 'dir', 'symlink'] as const;

/** The entries of a file manifest document, checked by hand (src/common/json-shape.ts): thousands, on every gate. */
function fileManifestEntriesOf(data: unknown): FileManifestEntry[] {
  const manifest = objectAt(data, '');
  oneOfAt(manifest.schemaVersion, 'schemaVersion', [1]);
  return arrayAt(manifest.entries, 'entries', (value, path) => {
    const entry = objectAt(value, path);
    const file = stringAt(entry.path, at(path, 'path'));
    if (!file.startsWith('/')) throw new ShapeError(at(path, 'path'), 'Invalid string: must start with "/"');
    const sha256 = optionalStringAt(entry.sha256, at(path, 'sha256'));
    const target = optionalStringAt(entry.target, at(path, 'target'));
    return {
      path: file,
      type: oneOfAt(entry.type, at(path, 'type'), fileManifestTypes),
      mode: countAt(entry.mode, at(path, 'mode')),
      uid: countAt(entry.uid, at(path, 'uid')),
      gid: countAt(entry.gid, at(path, 'gid')),
      size: countAt(entry.size, at(path, 'size')),
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(target === undefined ? {} : { target }),
    };
  });
}

/**
 * The file manifest attached to the image. A referrer counts only if its own manifest names this
 * image as subject: the referrers list is an index, and an index can be wrong.
 */
async function attachedFileManifest(store: LayoutStore, digest: Digest): Promise<AttachedFileManifest> {
  const found = new Map<Digest, FileManifestEntry[]>();
  for (const referrer of await store.referrers(digest, { artifactType: fileManifestArtifactType })) {
    const artifact = await store.getManifest(referrer.digest);
    const [layer, ...more] = artifact.layers;
    if (
      artifact.subject?.digest !== digest ||
      artifact.artifactType !== fileManifestArtifactType ||
      !layer ||
      more.length > 0
    ) {
      throw new GateError(
        'FILE_MANIFEST_INVALID',
        `referrer ${referrer.digest} is listed as the file manifest of ${digest}, but its manifest names subject ${artifact.subject?.digest ?? 'none'} and artifact type ${artifact.artifactType ?? 'none'} with ${artifact.layers.length} layers`,
      );
    }
    let entries: FileManifestEntry[];
    try {
      entries = fileManifestEntriesOf(await store.getJson<unknown>(layer.digest));
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      throw new GateError(
        'FILE_MANIFEST_INVALID',
        `referrer ${referrer.digest} of ${digest} is not a file manifest: ${error.message}`,
      );
    }
    found.set(layer.digest, entries);
  }
  if (found.size > 1) {
    throw new GateError(
      'FILE_MANIFEST_INVALID',
      `image ${digest} has ${found.size} different file manifests attached, expected one`,
    );
  }
  const [attached] = found.entries();
  return attached ? { kind: 'attached', digest: attached[0], entries: attached[1] } : { kind: 'missing' };
}
