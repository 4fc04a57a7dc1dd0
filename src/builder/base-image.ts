/**
 * Base images: `image.from` resolved to a digest at lock time (through an injected source, the
 * catalog in the CLI), then read from the local store at lock and build time. The base is read as
 * hostile input: its config is validated, every layer must hash to its diff_id, and its layers are
 * flattened by the same reader and rules as the gate's (src/oci/flatten-layers.ts).
 */
import { z } from 'zod';
import type { PackageRecord } from '../debian/index.js';
import type { LayoutStore } from '../oci/index.js';
import {
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageManifest,
  layerTarOf,
  MediaType,
  OciError,
  readTar,
  sha256Digest,
  type TarReadEntry,
} from '../oci/index.js';
import type { BaseImageRef } from '../specfile/index.js';
import { baseTreeOf, flattenBaseLayers } from './base-layers.js';
import { BuildError } from './errors.js';
import type { TreeNode } from './image-tree.js';
import { installedPackagesOf } from './installed-packages.js';

/**
 * Where `image.from` is looked up: the catalog's current release of a service at a stage, or a
 * digest it knows. Undefined when the reference names nothing; a thrown error means the lookup
 * itself failed.
 */
export interface BaseImageSource {
  resolve(ref: BaseImageRef): Promise<{ digest: Digest } | undefined>;
}

/** A base as the lock pins it. */
export interface PinnedBase {
  /** `service@stage`, or the digest when the spec named one. */
  ref: string;
  digest: Digest;
}

export interface BaseImage extends PinnedBase {
  /** Layer descriptors exactly as the base's manifest has them; the new image reuses them unchanged. */
  layers: Descriptor[];
  diffIds: Digest[];
  /** Bytes of its layers' tars, uncompressed. */
  unpackedSize: number;
  /** One entry per layer at least: the base's own history, or one made up for each layer. */
  history: NonNullable<ImageConfig['history']>;
  /** The flattened root filesystem, owned by `base`. */
  files: Map<string, TreeNode>;
  /** What its dpkg database says is installed; empty for an image that has none. */
  packages: PackageRecord[];
}

/** How `image.from` reads in the lock, labels and messages: the stage is always spelled out. */
export function describeBaseRef(ref: BaseImageRef): string {
  switch (ref.kind) {
    case 'digest':
      return ref.digest;
    case 'release':
      return `${ref.service}@${ref.stage}`;
  }
}

/**
 * The digest `image.from` names now. Fails closed with BASE_NOT_FOUND. Without a source, only a
 * digest resolves (to itself): a catalog release needs the catalog.
 */
export async function resolveBaseImage(ref: BaseImageRef, source?: BaseImageSource): Promise<PinnedBase> {
  const text = describeBaseRef(ref);
  if (!source) {
    if (ref.kind === 'digest') return { ref: text, digest: ref.digest };
    throw new BuildError(
      'BASE_NOT_FOUND',
      `image.from ${text} names a catalog release, but no catalog was given to resolve it`,
    );
  }
  const found = await source.resolve(ref);
  if (!found) {
    const what =
      ref.kind === 'release'
        ? `the catalog has no ${ref.stage} release of ${ref.service}`
        : 'the catalog does not know that digest';
    throw new BuildError(
      'BASE_NOT_FOUND',
      `image.from ${text}: ${what}; release the base first, or fix the reference`,
    );
  }
  return { ref: text, digest: found.digest };
}

/** Far above any hardened base; a layer beyond them is refused rather than read into memory. */
export const baseLayerLimits = {
  maxTotalSize: 2 * 1024 * 1024 * 1024 - 1,
  maxEntrySize: 1024 * 1024 * 1024,
  maxEntries: 500_000,
} as const;

const manifestTypes: readonly (string | undefined)[] = [
  MediaType.imageManifest,
  'application/vnd.docker.distribution.manifest.v2+json',
  // The mediaType field is only a SHOULD in manifest.md.
  undefined,
];

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** The config fields herd reads from a base, and nothing else (config.md). */
const BaseConfig = z.object({
  architecture: z.string(),
  os: z.string(),
  created: z.string().optional(),
  rootfs: z.object({
    type: z.literal('layers'),
    diff_ids: z.array(z.string().regex(digestPattern)),
  }),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        comment: z.string().optional(),
        empty_layer: z.boolean().optional(),
      }),
    )
    .optional(),
});

/**
 * Reads a base from the store: BASE_NOT_FOUND when it (or one of its blobs) is not there,
 * BASE_INVALID when it is no image herd can build on, BASE_UNSAFE for hostile entries. A blob whose
 * bytes do not match its digest fails with the store's DIGEST_MISMATCH.
 */
export async function readBaseImage(
  store: LayoutStore,
  pinned: PinnedBase,
  options: { architecture: string },
): Promise<BaseImage> {
  const name = `base image ${pinned.digest} (${pinned.ref})`;
  if (!(await store.hasBlob(pinned.digest))) {
    throw new BuildError(
      'BASE_NOT_FOUND',
      `${name} is not in the store at ${store.root}; build or pull it there first`,
    );
  }
  const manifest = await readManifest(store, pinned, name);
  const config = await readConfig(store, manifest, name);
  if (config.architecture !== options.architecture || config.os !== 'linux') {
    throw new BuildError(
      'BASE_INVALID',
      `${name} is for ${config.os}/${config.architecture}, expected linux/${options.architecture}`,
    );
  }
  const diffIds = config.rootfs.diff_ids as Digest[];
  if (diffIds.length !== manifest.layers.length) {
    throw new BuildError(
      'BASE_INVALID',
      `${name} has ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`,
    );
  }
  const layers = await Promise.all(
    manifest.layers.map((layer, index) =>
      readLayerEntries(store, layer, { diffId: diffIds[index] as Digest, name }),
    ),
  );
  const rootfs = flattenBaseLayers(layers);
  return {
    ...pinned,
    layers: manifest.layers,
    diffIds,
    unpackedSize: layers.reduce((n, layer) => n + layer.size, 0),
    history: historyOf(config, { layerCount: diffIds.length, ref: pinned.ref }),
    files: baseTreeOf(rootfs),
    packages: installedPackagesOf(rootfs),
  };
}

async function readManifest(store: LayoutStore, pinned: PinnedBase, name: string): Promise<ImageManifest> {
  let manifest: ImageManifest;
  try {
    manifest = await store.getManifest(pinned.digest);
  } catch (error) {
    if (!(error instanceof OciError) || error.code !== 'MANIFEST_INVALID') throw error;
    throw new BuildError(
      'BASE_INVALID',
      `${name} is not an image manifest (an index or an artifact?); name the manifest of one platform`,
      { cause: error },
    );
  }
  if (!manifestTypes.includes(manifest.mediaType) || manifest.artifactType !== undefined) {
    throw new BuildError(
      'BASE_INVALID',
      `${name} is a ${manifest.artifactType ?? manifest.mediaType}, expected an image manifest`,
    );
  }
  return manifest;
}

async function readConfig(
  store: LayoutStore,
  manifest: ImageManifest,
  name: string,
): Promise<z.output<typeof BaseConfig>> {
  const raw = await readBlob(store, manifest.config.digest, name, () =>
    store.getJson(manifest.config.digest),
  );
  const parsed = BaseConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BuildError(
      'BASE_INVALID',
      `${name}: its config ${manifest.config.digest} is not an image config (${issue?.path.join('.') || 'root'}: ${issue?.message ?? 'invalid'})`,
    );
  }
  return parsed.data;
}

async function readLayerEntries(
  store: LayoutStore,
  layer: Descriptor,
  context: { diffId: Digest; name: string },
): Promise<{ digest: string; entries: TarReadEntry[]; size: number }> {
  const where = `${context.name}: layer ${layer.digest}`;
  const blob = await readBlob(store, layer.digest, context.name, () => store.getBlob(layer.digest));
  let tar: Buffer;
  try {
    tar = await layerTarOf(blob, layer, { name: where, maxBytes: baseLayerLimits.maxTotalSize });
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    const code = error.code === 'DECOMPRESSED_TOO_LARGE' ? 'DECOMPRESSED_TOO_LARGE' : 'BASE_INVALID';
    throw new BuildError(code, error.message, { cause: error });
  }
  const diffId = sha256Digest(tar);
  if (diffId !== context.diffId) {
    throw new BuildError(
      'BASE_INVALID',
      `${where} unpacks to ${diffId}, but the config says ${context.diffId}`,
    );
  }
  try {
    return { digest: layer.digest, entries: readTar(tar, baseLayerLimits), size: tar.length };
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    throw new BuildError('BASE_INVALID', `${where}: ${error.message}`, { cause: error });
  }
}

/** A blob the manifest names but the store lacks means the base is not (wholly) there. */
async function readBlob<T>(
  store: LayoutStore,
  digest: Digest,
  name: string,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof OciError) || error.code !== 'BLOB_NOT_FOUND') throw error;
    throw new BuildError(
      'BASE_NOT_FOUND',
      `${name} is incomplete in the store at ${store.root}: blob ${digest} is missing`,
      {
        cause: error,
      },
    );
  }
}

/**
 * The base's history, in its own order. A base without one gets an entry per layer, so the new
 * image's history still lines up with its layers.
 */
function historyOf(
  config: z.output<typeof BaseConfig>,
  context: { layerCount: number; ref: string },
): NonNullable<ImageConfig['history']> {
  if (config.history && config.history.length > 0) {
    return config.history.map((entry) => ({
      ...(entry.created !== undefined ? { created: entry.created } : {}),
      ...(entry.created_by !== undefined ? { created_by: entry.created_by } : {}),
      ...(entry.comment !== undefined ? { comment: entry.comment } : {}),
      ...(entry.empty_layer !== undefined ? { empty_layer: entry.empty_layer } : {}),
    }));
  }
  return Array.from({ length: context.layerCount }, () => ({
    ...(config.created !== undefined ? { created: config.created } : {}),
    comment: `base image ${context.ref}`,
  }));
}
