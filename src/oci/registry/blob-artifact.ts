/**
 * An OCI 1.1 artifact of one small blob under a tag: the manifest's config is the empty descriptor
 * and its one layer is the blob, as image-spec's guidelines for artifacts describe
 * (https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md#guidelines-for-artifact-usage).
 * herd keeps its signed journal checkpoint in a registry this way, out of reach of whoever can write
 * HERD_HOME.
 */
import type { Logger } from '../../common/index.js';
import { sha256Digest } from '../digest.js';
import { type Descriptor, type Digest, type ImageManifest, MediaType } from '../types.js';
import type { Credentials } from './credentials.js';
import { DistributionClient, parseJson, readLimited } from './distribution-client.js';
import { RegistryError } from './errors.js';
import type { HttpTransport } from './http-transport.js';
import { defaultChunkSize } from './push-image.js';
import { formatImageReference, parseImageReference } from './reference.js';
import { ImageManifest as ImageManifestSchema } from './schema.js';

export interface BlobArtifactOptions {
  credentials?: Credentials;
  transport?: HttpTransport;
  logger?: Pick<Logger, 'debug' | 'warn'>;
  insecure?: boolean;
}

export interface BlobArtifact {
  artifactType: string;
  /** The blob's own media type, e.g. a DSSE envelope's. */
  mediaType: string;
  bytes: Uint8Array;
}

/** The empty config every artifact manifest points at: the two bytes `{}`. */
const emptyConfig = Buffer.from('{}');

export async function pushBlobArtifact(
  reference: string,
  artifact: BlobArtifact,
  options: BlobArtifactOptions = {},
): Promise<{ reference: string; digest: Digest }> {
  const target = parseImageReference(reference, options);
  if (!target.tag || target.digest) {
    throw new RegistryError(
      'REFERENCE_INVALID',
      `cannot push an artifact to ${reference}: expected a tag and no digest`,
    );
  }
  const client = clientFor(target, options);
  const config = await uploadOnce(client, target.repository, MediaType.empty, emptyConfig);
  const layer = await uploadOnce(client, target.repository, artifact.mediaType, artifact.bytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType: artifact.artifactType,
    config,
    layers: [layer],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  await client.putManifest(target.repository, {
    reference: target.tag,
    bytes,
    mediaType: MediaType.imageManifest,
  });
  return { reference: formatImageReference(target), digest: sha256Digest(bytes) };
}

/**
 * The blob of an artifact pushed by `pushBlobArtifact`. The manifest must be of `artifactType` and
 * hold one layer of at most `maxBytes`; the blob must hash to its descriptor.
 */
export async function pullBlobArtifact(
  reference: string,
  expected: { artifactType: string; maxBytes: number },
  options: BlobArtifactOptions = {},
): Promise<{ bytes: Buffer; manifestDigest: Digest }> {
  const target = parseImageReference(reference, options);
  const client = clientFor(target, options);
  const fetched = await client.getManifest(target.repository, target.digest ?? target.tag ?? 'latest');
  const what = `artifact ${formatImageReference(target)}`;
  const parsed = ImageManifestSchema.safeParse(parseJson(fetched.bytes));
  if (
    !parsed.success ||
    parsed.data.artifactType !== expected.artifactType ||
    parsed.data.layers.length !== 1
  ) {
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `${what} is not a ${expected.artifactType} artifact of one blob (manifest ${fetched.digest})`,
    );
  }
  const layer = parsed.data.layers[0] as Descriptor;
  if (layer.size > expected.maxBytes) {
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `${what} has a ${layer.size}-byte blob, expected at most ${expected.maxBytes}`,
    );
  }
  const body = await client.fetchBlob(target.repository, layer.digest as Digest);
  const bytes = await readLimited(new Response(body), { limit: layer.size, what });
  const actual = sha256Digest(bytes);
  if (actual !== layer.digest) {
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `${what}: its blob hashes to ${actual}, expected ${layer.digest}`,
    );
  }
  return { bytes, manifestDigest: fetched.digest };
}

function clientFor(
  target: ReturnType<typeof parseImageReference>,
  options: BlobArtifactOptions,
): DistributionClient {
  return new DistributionClient({
    registry: target.registry,
    baseUrl: target.baseUrl,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

async function uploadOnce(
  client: DistributionClient,
  repository: string,
  mediaType: string,
  bytes: Uint8Array,
): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  if (!(await client.blobExists(repository, digest))) {
    await client.uploadBlob(repository, { digest, bytes }, { chunkSize: defaultChunkSize });
  }
  return { mediaType, digest, size: bytes.byteLength };
}
