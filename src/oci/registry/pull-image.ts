/**
 * `herd pull`: copies an image, its cosign signatures and attestations, and its referrers from a
 * registry into the store, trusting no byte it has not hashed:
 * - the manifest's digest must equal the reference's digest, or else the `Docker-Content-Digest`
 *   the registry reports;
 * - every blob streams into a temp file and is renamed under its digest only if it hashes to it;
 * - index.json and referrers.json change only after everything arrived and verified, so a failed
 *   pull leaves at most some verified, unnamed blobs behind.
 * Spec: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pull
 */
import { arch } from 'node:os';
import type { Logger } from '../../common/index.js';
import { OciError } from '../errors.js';
import type { LayoutStore } from '../layout-store.js';
import type { Digest, Descriptor as StoreDescriptor } from '../types.js';
import { checkCosignManifestBounds, cosignKinds, cosignTag, referrersTag } from './cosign-tags.js';
import type { Credentials } from './credentials.js';
import { DistributionClient, type FetchedManifest, parseJson } from './distribution-client.js';
import { RegistryError } from './errors.js';
import type { HttpTransport } from './http-transport.js';
import { receiveBlob } from './receive-blob.js';
import { formatImageReference, type ImageReference, parseImageReference } from './reference.js';
import {
  type Descriptor,
  ImageConfigPlatform,
  ImageIndex,
  ImageManifest,
  ManifestMediaType,
} from './schema.js';

export interface PullOptions {
  credentials?: Credentials;
  transport?: HttpTransport;
  logger?: Pick<Logger, 'debug' | 'warn'>;
  /** Plain http for a registry that is not on loopback. */
  insecure?: boolean;
  /** The image's name in index.json; default `<repository>:<tag>` or `<repository>@<digest>`. */
  refName?: string;
  /** Which manifest to take from a multi-platform index; default linux and this host's CPU. */
  platform?: { os: string; architecture: string };
}

export type PulledRole = 'image' | 'signature' | 'attestation' | 'referrer';

export interface PullResult {
  reference: string;
  digest: Digest;
  refName: string;
  blobs: { digest: Digest; size: number; action: 'fetched' | 'present' }[];
  manifests: { digest: Digest; role: PulledRole }[];
}

/** A verified manifest waiting for the commit to index.json or referrers.json. */
interface StagedManifest {
  role: PulledRole;
  fetched: FetchedManifest;
  manifest: ImageManifest;
  refName?: string;
}

/** SBOMs, provenance and the file manifest of a large image are tens of MB, not GB. */
export const referrerLimits = { maxReferrers: 1000, maxTotalBytes: 512 * 1024 * 1024 };

export async function pullImage(
  reference: string | ImageReference,
  store: LayoutStore,
  options: PullOptions = {},
): Promise<PullResult> {
  const source = typeof reference === 'string' ? parseImageReference(reference, options) : reference;
  const repository = source.repository;
  const client = new DistributionClient({
    registry: source.registry,
    baseUrl: source.baseUrl,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const logger = options.logger;
  await store.init();

  const top = await client.getManifest(repository, source.digest ?? source.tag ?? 'latest');
  const imageFetched = await selectPlatform(client, {
    repository,
    fetched: top,
    platform: options.platform ?? hostPlatform(),
  });
  const digest = imageFetched.digest;
  const refName = options.refName ?? (source.tag ? `${repository}:${source.tag}` : `${repository}@${digest}`);
  const result: PullResult = {
    reference: formatImageReference(source),
    digest,
    refName,
    blobs: [],
    manifests: [],
  };

  const seen = new Set<Digest>();
  const staged: StagedManifest[] = [];
  const stage = async (role: PulledRole, fetched: FetchedManifest, extra: { refName?: string } = {}) => {
    const manifest = imageManifestOf(fetched, `${role} manifest ${fetched.digest} in ${repository}`);
    if (role === 'signature' || role === 'attestation') {
      checkCosignManifestBounds(
        manifest,
        `${role} manifest ${extra.refName ?? fetched.digest} in ${repository}`,
      );
    }
    for (const blob of [manifest.config, ...manifest.layers]) {
      const blobDigest = blob.digest as Digest;
      if (seen.has(blobDigest)) continue;
      seen.add(blobDigest);
      result.blobs.push(await fetchBlob(client, store, { repository, descriptor: blob }));
    }
    staged.push({ role, fetched, manifest, ...extra });
  };

  await stage('image', imageFetched, { refName });
  for (const kind of cosignKinds) {
    const tag = cosignTag(digest, kind);
    const fetched = await getIfPresent(client, { repository, reference: tag });
    if (fetched) await stage(kind, fetched, { refName: tag });
  }
  const referrers = await listReferrers(client, { repository, subject: digest });
  // Anyone with push access can attach referrers to any image: bounded as cosign tags are.
  if (referrers.length > referrerLimits.maxReferrers) {
    throw new RegistryError(
      'TOO_LARGE',
      `${repository} lists ${referrers.length} referrers of ${digest}, expected at most ${referrerLimits.maxReferrers}`,
    );
  }
  let referrerBytes = 0;
  for (const descriptor of referrers) {
    // Digests are still checked (getManifest throws); only the shape decides whether to keep one.
    const fetched = await client.getManifest(repository, descriptor.digest);
    const manifest = ImageManifest.safeParse(parseJson(fetched.bytes));
    if (!manifest.success) {
      logger?.warn({ referrer: descriptor.digest }, 'skipping a referrer that is not an image manifest');
      continue;
    }
    if (manifest.data.subject?.digest !== digest) {
      logger?.warn(
        { referrer: descriptor.digest, subject: digest },
        'skipping a listed referrer whose subject is another image',
      );
      continue;
    }
    const what = `referrer ${descriptor.digest} of ${digest} in ${repository}`;
    checkCosignManifestBounds(manifest.data, what);
    referrerBytes += manifest.data.layers.reduce((n, l) => n + l.size, 0);
    if (referrerBytes > referrerLimits.maxTotalBytes) {
      throw new RegistryError(
        'TOO_LARGE',
        `${what}: the referrers of ${digest} hold more than ${referrerLimits.maxTotalBytes} bytes in all`,
      );
    }
    await stage('referrer', fetched);
  }

  // Commit: manifests under their digests, then the names. Referrers and signatures go first so
  // that the image's ref name, the last write, only appears once everything it vouches for is in.
  const image = staged[0] as StagedManifest;
  for (const entry of [...staged.slice(1), image]) {
    const descriptor = await putManifest(store, entry);
    if (entry.role === 'referrer') {
      await store.addReferrer(digest, {
        ...descriptor,
        ...(entry.manifest.artifactType ? { artifactType: entry.manifest.artifactType } : {}),
      });
    } else {
      const platform = entry.role === 'image' ? await platformOf(store, entry.manifest) : undefined;
      await store.addManifest(
        { ...descriptor, ...(platform ? { platform } : {}) },
        entry.refName ? { refName: entry.refName } : {},
      );
    }
    result.manifests.push({ digest: entry.fetched.digest, role: entry.role });
  }
  return result;
}

/** A multi-platform index resolves to the one manifest for the wanted platform. */
async function selectPlatform(
  client: DistributionClient,
  options: { repository: string; fetched: FetchedManifest; platform: { os: string; architecture: string } },
): Promise<FetchedManifest> {
  const { fetched, platform } = options;
  const document = parseJson(fetched.bytes) as { mediaType?: unknown; manifests?: unknown } | undefined;
  const isIndex =
    fetched.mediaType === ManifestMediaType.ociIndex ||
    fetched.mediaType === ManifestMediaType.dockerManifestList ||
    (document?.manifests !== undefined && (document as { config?: unknown }).config === undefined);
  if (!isIndex) return fetched;
  const index = ImageIndex.safeParse(document);
  if (!index.success) {
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `index ${fetched.digest} in ${options.repository} is not a valid image index`,
    );
  }
  const match = index.data.manifests.find(
    (m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture,
  );
  if (!match) {
    const offered = index.data.manifests
      .map((m) => `${m.platform?.os}/${m.platform?.architecture}`)
      .join(', ');
    throw new RegistryError(
      'NOT_FOUND',
      `index ${fetched.digest} in ${options.repository} has no ${platform.os}/${platform.architecture} image, it has: ${offered || 'none'}`,
    );
  }
  return client.getManifest(options.repository, match.digest);
}

function imageManifestOf(fetched: FetchedManifest, what: string): ImageManifest {
  const parsed = ImageManifest.safeParse(parseJson(fetched.bytes));
  if (!parsed.success) {
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `${what} is not an image manifest: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}

/** A blob into the store, verified on the way; one already there is re-read (and so re-hashed) instead. */
export async function fetchBlob(
  client: DistributionClient,
  store: LayoutStore,
  options: { repository: string; descriptor: Descriptor },
): Promise<PullResult['blobs'][number]> {
  const digest = options.descriptor.digest as Digest;
  const size = options.descriptor.size;
  if (await store.hasBlob(digest)) {
    try {
      await store.getBlob(digest);
      return { digest, size, action: 'present' };
    } catch (error) {
      // A local copy that no longer matches its name is replaced by the verified download.
      if (!(error instanceof OciError && error.code === 'DIGEST_MISMATCH')) throw error;
    }
  }
  const body = await client.fetchBlob(options.repository, digest);
  await receiveBlob(store, { body, expected: { digest, size } });
  return { digest, size, action: 'fetched' };
}

/** A manifest by tag, or undefined when the registry has no such tag. */
export async function getIfPresent(
  client: DistributionClient,
  options: { repository: string; reference: string },
): Promise<FetchedManifest | undefined> {
  try {
    return await client.getManifest(options.repository, options.reference);
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

/** The referrers API where the registry has it, else the `sha256-<hex>` tag schema. */
async function listReferrers(
  client: DistributionClient,
  options: { repository: string; subject: Digest },
): Promise<Descriptor[]> {
  const listed = await client.getReferrers(options.repository, options.subject);
  if (listed) return listed;
  const fetched = await getIfPresent(client, {
    repository: options.repository,
    reference: referrersTag(options.subject),
  });
  if (!fetched) return [];
  const index = ImageIndex.safeParse(parseJson(fetched.bytes));
  if (!index.success) {
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `referrers tag ${referrersTag(options.subject)} in ${options.repository} is not an image index`,
    );
  }
  return index.data.manifests;
}

/** Stores manifest bytes; the store hashes them again, and the digest must be the one verified. */
async function putManifest(store: LayoutStore, entry: StagedManifest): Promise<StoreDescriptor> {
  const mediaType = entry.manifest.mediaType ?? (entry.fetched.mediaType || ManifestMediaType.ociManifest);
  const descriptor = await store.putBlob(entry.fetched.bytes, mediaType);
  if (descriptor.digest !== entry.fetched.digest) {
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `manifest ${entry.fetched.digest}: the store hashed it to ${descriptor.digest}`,
    );
  }
  return descriptor;
}

async function platformOf(
  store: LayoutStore,
  manifest: ImageManifest,
): Promise<{ architecture: string; os: string } | undefined> {
  const config = ImageConfigPlatform.safeParse(
    parseJson(await store.getBlob(manifest.config.digest as Digest)),
  );
  return config.success ? { architecture: config.data.architecture, os: config.data.os } : undefined;
}

/** Node's CPU names mapped to the OCI platform's GOARCH names. */
function hostPlatform(): { os: string; architecture: string } {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };
  return { os: 'linux', architecture: names[arch()] ?? arch() };
}
