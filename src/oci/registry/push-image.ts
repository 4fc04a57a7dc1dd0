/**
 * `herd push`: copies an image from the store to a registry with everything that vouches for it.
 * Order matters: blobs before the manifest that names them, the image before its signatures and
 * referrers, the digest before the tag, so a registry never holds a tag whose content is missing.
 * 1. every blob not already there: HEAD (skip), else cross-repository mount, else upload;
 * 2. the image manifest by digest, then the tag;
 * 3. cosign's `.sig` and `.att` manifests under their tags (first reconciled with what the registry
 *    holds there, when the caller asks: cosign appends signatures, so a push must not drop those
 *    that others added in the registry);
 * 4. the referrers (SBOM, provenance, file manifest) by digest, and, where the registry has no
 *    referrers API, in the `sha256-<hex>` referrers tag index.
 * Spec: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#push
 */
import { compactJson, type Logger } from '../../common/index.js';
import { sha256Digest } from '../digest.js';
import { type LayoutStore, refNameAnnotation } from '../layout-store.js';
import type { Digest } from '../types.js';
import {
  type CosignKind,
  checkCosignManifestBounds,
  cosignKinds,
  cosignTag,
  referrersTag,
} from './cosign-tags.js';
import type { Credentials } from './credentials.js';
import { DistributionClient, parseJson, type UploadMethod } from './distribution-client.js';
import { RegistryError } from './errors.js';
import type { HttpTransport } from './http-transport.js';
import { fetchBlob, getIfPresent } from './pull-image.js';
import { formatImageReference, type ImageReference, parseImageReference } from './reference.js';
import { type Descriptor, ImageIndex, ImageManifest, ManifestMediaType } from './schema.js';

/** Blobs above this size go up in chunks of this size. */
export const defaultChunkSize = 8 * 1024 * 1024;

export interface PushOptions {
  credentials?: Credentials;
  transport?: HttpTransport;
  logger?: Pick<Logger, 'debug' | 'warn'>;
  /** Plain http for a registry that is not on loopback. */
  insecure?: boolean;
  chunkSize?: number;
  /** Repositories on the same registry that may hold the blobs already: tried as mount sources. */
  mountFrom?: string[];
  /** Keep the `sha256-<hex>` referrers index on registries without the referrers API (default true). */
  referrersTagSchema?: boolean;
  /**
   * Called, before anything is pushed, for each cosign tag the registry already holds, with that
   * manifest; its layer blobs are in the store by then, verified. The caller may rewrite the
   * store's own manifest under the tag (trust/ knows whose layers to keep); what the store holds
   * afterwards is what is pushed.
   */
  reconcileCosign?: (kind: CosignKind, remote: { manifest: ImageManifest; digest: Digest }) => Promise<void>;
}

export type ManifestRole = 'image' | 'signature' | 'attestation' | 'referrer' | 'referrers-index';

export interface PushedBlob {
  digest: Digest;
  size: number;
  action: 'uploaded' | 'mounted' | 'skipped';
  method?: UploadMethod;
  from?: string;
}

export interface PushedManifest {
  digest: Digest;
  role: ManifestRole;
  action: 'pushed' | 'skipped';
  tags: string[];
}

export interface PushResult {
  reference: string;
  digest: Digest;
  blobs: PushedBlob[];
  manifests: PushedManifest[];
}

/** One manifest to push, read and verified from the store before anything goes on the wire. */
interface PushUnit {
  role: Exclude<ManifestRole, 'referrers-index'>;
  digest: Digest;
  bytes: Buffer;
  manifest: ImageManifest;
  tags: string[];
}

export async function pushImage(
  source: { store: LayoutStore; digest: Digest },
  reference: string | ImageReference,
  options: PushOptions = {},
): Promise<PushResult> {
  const target = typeof reference === 'string' ? parseImageReference(reference, options) : reference;
  if (target.digest && target.digest !== source.digest) {
    throw new RegistryError(
      'REFERENCE_INVALID',
      `cannot push image ${source.digest} to ${formatImageReference(target)}: the reference names another digest`,
    );
  }
  const client = new DistributionClient({
    registry: target.registry,
    baseUrl: target.baseUrl,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const repository = target.repository;
  if (options.reconcileCosign) {
    await reconcileCosignTags(client, source, {
      repository,
      reconcile: options.reconcileCosign,
      logger: options.logger,
    });
  }
  const units = await readPushUnits(source, { tag: target.tag });
  const chunkSize = options.chunkSize ?? defaultChunkSize;
  const mountFrom = (options.mountFrom ?? []).filter((name) => name !== repository);
  const result: PushResult = {
    reference: formatImageReference(target),
    digest: source.digest,
    blobs: [],
    manifests: [],
  };

  const seen = new Set<Digest>();
  for (const unit of units) {
    for (const blob of [unit.manifest.config, ...unit.manifest.layers]) {
      const digest = blob.digest as Digest;
      if (seen.has(digest)) continue;
      seen.add(digest);
      result.blobs.push(await pushBlob(client, source.store, { repository, digest, mountFrom, chunkSize }));
    }
    const mediaType = unit.manifest.mediaType ?? ManifestMediaType.ociManifest;
    const exists = await client.manifestExists(repository, unit.digest);
    if (!exists)
      await client.putManifest(repository, { reference: unit.digest, bytes: unit.bytes, mediaType });
    for (const tag of unit.tags)
      await client.putManifest(repository, { reference: tag, bytes: unit.bytes, mediaType });
    result.manifests.push({
      digest: unit.digest,
      role: unit.role,
      action: exists ? 'skipped' : 'pushed',
      tags: unit.tags,
    });
  }

  const referrers = units.filter((u) => u.role === 'referrer');
  if (referrers.length > 0 && options.referrersTagSchema !== false) {
    const indexed = await updateReferrersTag(client, { repository, subject: source.digest, referrers });
    if (indexed) result.manifests.push(indexed);
  }
  return result;
}

/** Hands the registry's `.sig` and `.att` manifests of the image, with their blobs fetched, to the caller. */
async function reconcileCosignTags(
  client: DistributionClient,
  source: { store: LayoutStore; digest: Digest },
  options: {
    repository: string;
    reconcile: NonNullable<PushOptions['reconcileCosign']>;
    logger?: Pick<Logger, 'debug' | 'warn'>;
  },
): Promise<void> {
  const { repository } = options;
  for (const kind of cosignKinds) {
    const tag = cosignTag(source.digest, kind);
    const fetched = await getIfPresent(client, { repository, reference: tag });
    if (!fetched) continue;
    const parsed = ImageManifest.safeParse(parseJson(fetched.bytes));
    if (!parsed.success) {
      // Nothing anyone could verify is lost by replacing it.
      options.logger?.warn(
        { tag, repository },
        'the registry holds something other than an image manifest under a cosign tag; replacing it',
      );
      continue;
    }
    checkCosignManifestBounds(parsed.data, `${kind} manifest ${tag} in ${repository}`);
    for (const layer of parsed.data.layers) {
      await fetchBlob(client, source.store, { repository, descriptor: layer });
    }
    await options.reconcile(kind, { manifest: parsed.data, digest: fetched.digest });
  }
}

/** The image, its cosign manifests (by ref name) and its referrers, each verified by the store. */
async function readPushUnits(
  source: { store: LayoutStore; digest: Digest },
  options: { tag: string | undefined },
): Promise<PushUnit[]> {
  const { store, digest } = source;
  const read = async (role: PushUnit['role'], manifestDigest: Digest, tags: string[]): Promise<PushUnit> => {
    const bytes = await store.getBlob(manifestDigest);
    const parsed = ImageManifest.safeParse(parseJson(bytes));
    if (!parsed.success) {
      throw new RegistryError(
        'PROTOCOL_ERROR',
        `${role} manifest ${manifestDigest} in the store is not an image manifest; herd pushes image manifests only`,
      );
    }
    return { role, digest: manifestDigest, bytes, manifest: parsed.data, tags };
  };

  const units = [await read('image', digest, options.tag ? [options.tag] : [])];
  const index = await store.readIndex();
  for (const kind of cosignKinds) {
    const tag = cosignTag(digest, kind);
    const found = index.manifests.find((m) => m.annotations?.[refNameAnnotation] === tag);
    if (found) units.push(await read(kind, found.digest, [tag]));
  }
  for (const referrer of await store.referrers(digest))
    units.push(await read('referrer', referrer.digest, []));
  return units;
}

async function pushBlob(
  client: DistributionClient,
  store: LayoutStore,
  options: { repository: string; digest: Digest; mountFrom: string[]; chunkSize: number },
): Promise<PushedBlob> {
  const { repository, digest } = options;
  // Read (and so verify) first: a tampered blob in the store must stop the push even if the
  // registry already has the genuine one.
  const bytes = await store.getBlob(digest);
  const size = bytes.byteLength;
  if (await client.blobExists(repository, digest)) return { digest, size, action: 'skipped' };

  let uploadUrl: string | undefined;
  for (const from of options.mountFrom) {
    const mount = await client.mountBlob(repository, { digest, from });
    if (mount.mounted) return { digest, size, action: 'mounted', from };
    // The registry opened an upload instead; use it rather than leave it dangling.
    uploadUrl = mount.uploadUrl;
    break;
  }
  const method = await client.uploadBlob(
    repository,
    { digest, bytes },
    { chunkSize: options.chunkSize, ...(uploadUrl ? { uploadUrl } : {}) },
  );
  return { digest, size, action: 'uploaded', method };
}

/**
 * Adds the referrers to the `sha256-<hex>` index when the registry has no referrers API, merging
 * with what the tag already lists (other clients may have added theirs).
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests-with-subject
 */
async function updateReferrersTag(
  client: DistributionClient,
  options: { repository: string; subject: Digest; referrers: PushUnit[] },
): Promise<PushedManifest | undefined> {
  const { repository, subject } = options;
  if ((await client.getReferrers(repository, subject)) !== undefined) return undefined;

  const tag = referrersTag(subject);
  let listed: Descriptor[] = [];
  if (await client.manifestExists(repository, tag)) {
    const current = await client.getManifest(repository, tag);
    const parsed = ImageIndex.safeParse(parseJson(current.bytes));
    if (!parsed.success) {
      throw new RegistryError(
        'PROTOCOL_ERROR',
        `referrers tag ${tag} in ${repository} holds something other than an image index`,
      );
    }
    listed = parsed.data.manifests;
  }
  const missing = options.referrers.filter((r) => !listed.some((d) => d.digest === r.digest));
  if (missing.length === 0) return undefined;
  const index = {
    schemaVersion: 2,
    mediaType: ManifestMediaType.ociIndex,
    manifests: [...listed, ...missing.map(referrerDescriptor)],
  };
  const bytes = Buffer.from(compactJson(index));
  await client.putManifest(repository, { reference: tag, bytes, mediaType: ManifestMediaType.ociIndex });
  return { digest: sha256Digest(bytes), role: 'referrers-index', action: 'pushed', tags: [tag] };
}

/** A referrers-list entry: the manifest's descriptor with its artifactType and annotations. */
function referrerDescriptor(unit: PushUnit): Descriptor {
  return {
    mediaType: unit.manifest.mediaType ?? ManifestMediaType.ociManifest,
    digest: unit.digest,
    size: unit.bytes.byteLength,
    artifactType: unit.manifest.artifactType ?? unit.manifest.config.mediaType,
    ...(unit.manifest.annotations ? { annotations: unit.manifest.annotations } : {}),
  };
}
