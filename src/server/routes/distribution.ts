/**
 * The store, read-only, over the OCI distribution API, so engines pull straight from herd.
 * Only the pull side and the referrers API exist; every write answers 405 UNSUPPORTED. Any
 * repository name maps to the one store (see ../store-tags.ts). Every blob and manifest is read
 * through the store, which re-hashes it: a blob that no longer matches its digest is answered
 * with 500 and the reason, never with its bytes.
 * Spec: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
 */
import { type Context, Hono } from 'hono';
import type { Logger } from '../../common/index.js';
import type { LayoutStore } from '../../oci/index.js';
import {
  type Descriptor,
  type Digest,
  type ImageIndex,
  isDigest,
  MediaType,
  OciError,
} from '../../oci/index.js';
import { driftEvidenceArtifactType } from '../../watch/index.js';
import { findTag, listTags } from '../store-tags.js';

/** The spec's `<name>` grammar: path components of lowercase alphanumerics and separators. */
const namePattern = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*';
const tagPattern = /^[\w][\w.-]{0,127}$/;

/** Error codes from the spec's table (plus UNKNOWN, as distribution answers internal errors). */
type DistributionErrorCode =
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'UNSUPPORTED'
  | 'UNKNOWN';

/** https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes */
function errorBody(
  code: DistributionErrorCode,
  message: string,
  options: { detail?: Record<string, unknown> } = {},
) {
  const { detail } = options;
  return { errors: [{ code, message, ...(detail ? { detail } : {}) }] };
}

export function distributionRoutes(options: { store: LayoutStore; logger: Logger }): Hono {
  const { store, logger } = options;
  const routes = new Hono();

  /** Reads a blob through the store; maps a missing or tampered blob to the wire error. */
  const readVerified = async (
    c: Context,
    options: { digest: Digest; kind: 'blob' | 'manifest' },
  ): Promise<Buffer | Response> => {
    const { digest, kind } = options;
    const unknown = kind === 'blob' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN';
    if ((await privateDigests()).has(digest)) {
      // Answered as if absent: whether an instance drifted is not /v2/'s to say either.
      return c.json(errorBody(unknown, `${kind} ${digest} is not in the store`, { detail: { digest } }), 404);
    }
    try {
      return await store.getBlob(digest);
    } catch (error) {
      if (error instanceof OciError && error.code === 'BLOB_NOT_FOUND') {
        return c.json(
          errorBody(unknown, `${kind} ${digest} is not in the store`, { detail: { digest } }),
          404,
        );
      }
      if (error instanceof OciError && error.code === 'DIGEST_MISMATCH') {
        // The store's message names its path on disk: logged here, not sent to the client.
        logger.error({ digest, error: error.message }, 'refusing to serve a blob that fails verification');
        return c.json(
          errorBody(
            unknown,
            `${kind} ${digest} fails verification: its content in herd's store no longer hashes to its digest (corrupt or tampered), so it is not served`,
            { detail: { digest, reason: 'DIGEST_MISMATCH' } },
          ),
          500,
        );
      }
      throw error;
    }
  };

  /**
   * Drift evidence (src/watch/evidence.ts) is a referrer of the image it was found in, so it sits
   * in the store beside what /v2/ serves; it holds what an instance wrote and its command lines,
   * which only incidents:read may see through the fleet API. /v2/ may be open to anyone who can
   * reach it, so it serves neither the evidence manifests nor their layers, and lists none of them
   * as referrers. Evidence manifests never change, so their layers are read once per set.
   */
  let evidenceCache: { key: string; digests: Set<string> } | undefined;
  const privateDigests = async (): Promise<Set<string>> => {
    const manifests = (await store.readIndex()).manifests
      .filter((entry) => entry.artifactType === driftEvidenceArtifactType)
      .map((entry) => entry.digest);
    const key = manifests.join(',');
    if (evidenceCache?.key !== key) {
      const digests = new Set<string>(manifests);
      for (const digest of manifests) {
        const manifest = await store.getManifest(digest).catch(() => undefined);
        for (const layer of manifest?.layers ?? []) digests.add(layer.digest);
      }
      evidenceCache = { key, digests };
    }
    return evidenceCache.digests;
  };

  routes.use('/v2/*', async (c, next) => {
    await next();
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
  });
  routes.use('/v2', async (c, next) => {
    await next();
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
  });

  // end-1: the API exists and needs no authentication.
  routes.get('/v2', (c) => c.json({}));
  routes.get('/v2/', (c) => c.json({}));

  // end-3: manifests by tag (an index.json ref name) or by digest. Accept is not negotiated: the
  // store holds one representation, sent with its own media type.
  routes.get(`/v2/:name{${namePattern}}/manifests/:reference`, async (c) => {
    const name = c.req.param('name');
    const reference = c.req.param('reference');
    let digest: Digest;
    if (reference.startsWith('sha256:') || reference.includes(':')) {
      if (!isDigest(reference)) {
        return c.json(errorBody('DIGEST_INVALID', `${reference} is not a sha256 digest`), 400);
      }
      digest = reference;
    } else if (tagPattern.test(reference)) {
      const found = findTag(await store.readIndex(), { repository: name, tag: reference });
      switch (found.kind) {
        case 'found':
          digest = found.descriptor.digest;
          break;
        case 'unknown':
          return c.json(
            errorBody('MANIFEST_UNKNOWN', `no image tagged ${reference} in the store`, {
              detail: { tag: reference },
            }),
            404,
          );
        case 'ambiguous':
          return c.json(
            errorBody(
              'MANIFEST_UNKNOWN',
              `tag ${reference} names several images (${found.refNames.join(', ')}); pull by digest or use the repository part of the image's name`,
              { detail: { tag: reference } },
            ),
            404,
          );
      }
    } else {
      return c.json(errorBody('MANIFEST_UNKNOWN', `${reference} is neither a tag nor a digest`), 404);
    }

    const bytes = await readVerified(c, { digest, kind: 'manifest' });
    if (bytes instanceof Response) return bytes;
    const mediaType = manifestMediaType(bytes);
    if (!mediaType) {
      return c.json(errorBody('MANIFEST_UNKNOWN', `${digest} is a blob in the store, not a manifest`), 404);
    }
    return sendBytes(c, bytes, { digest, contentType: mediaType });
  });

  // end-2: blobs, served only after the store re-hashed them.
  routes.get(`/v2/:name{${namePattern}}/blobs/:digest`, async (c) => {
    const digest = c.req.param('digest');
    if (!isDigest(digest)) {
      return c.json(errorBody('DIGEST_INVALID', `${digest} is not a sha256 digest`), 400);
    }
    const bytes = await readVerified(c, { digest, kind: 'blob' });
    if (bytes instanceof Response) return bytes;
    return sendBytes(c, bytes, { digest, contentType: 'application/octet-stream' });
  });

  // end-8a/8b: tags, with the spec's `n` and `last` pagination.
  routes.get(`/v2/:name{${namePattern}}/tags/list`, async (c) => {
    const name = c.req.param('name');
    const last = c.req.query('last');
    const n = c.req.query('n');
    let tags = listTags(await store.readIndex()).filter((t) => last === undefined || t > last);
    if (n !== undefined && /^[0-9]+$/.test(n) && tags.length > Number(n)) {
      tags = tags.slice(0, Number(n));
      const next = new URLSearchParams({ n, last: tags.at(-1) ?? '' });
      c.header('Link', `</v2/${name}/tags/list?${next}>; rel="next"`);
    }
    return c.json({ name, tags });
  });

  // end-12a/12b: the referrers API, answered from the store's referrers (index.json, cached in referrers.json); always 200, empty when none.
  routes.get(`/v2/:name{${namePattern}}/referrers/:digest`, async (c) => {
    const digest = c.req.param('digest');
    if (!isDigest(digest)) {
      return c.json(errorBody('DIGEST_INVALID', `${digest} is not a sha256 digest`), 400);
    }
    const artifactType = c.req.query('artifactType');
    const manifests: Descriptor[] = [];
    for (const referrer of await store.referrers(digest, artifactType ? { artifactType } : {})) {
      if (referrer.artifactType === driftEvidenceArtifactType) continue;
      manifests.push(await referrerDescriptor(store, { referrer, logger }));
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests };
    if (artifactType) c.header('OCI-Filters-Applied', 'artifactType');
    c.header('Content-Type', MediaType.imageIndex);
    return c.body(JSON.stringify(index), 200);
  });

  // The endpoint is read-only: uploads, manifest pushes and deletes are refused, not ignored.
  routes.on(['POST', 'PUT', 'PATCH', 'DELETE'], ['/v2', '/v2/*'], (c) => {
    c.header('Allow', 'GET, HEAD');
    return c.json(
      errorBody('UNSUPPORTED', `${c.req.method} is not supported: herd serves its store read-only`),
      405,
    );
  });

  routes.get('/v2/*', (c) => {
    const path = c.req.path;
    if (/^\/v2\/.+\/(manifests|blobs|tags|referrers)\//.test(path)) {
      return c.json(
        errorBody('NAME_INVALID', `the repository name in ${path} does not match the spec's grammar`),
        400,
      );
    }
    return c.json(errorBody('UNSUPPORTED', `no endpoint at ${path}`), 404);
  });

  routes.onError((error, c) => {
    logger.error({ path: c.req.path, error: error.message }, 'distribution endpoint failed');
    return c.json(errorBody('UNKNOWN', 'internal error while reading the store'), 500);
  });

  return routes;
}

/** A referrer as the referrers API lists it: with its manifest's artifactType and annotations. */
async function referrerDescriptor(
  store: LayoutStore,
  options: { referrer: Descriptor; logger: Logger },
): Promise<Descriptor> {
  const { referrer } = options;
  const base: Descriptor = {
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType ? { artifactType: referrer.artifactType } : {}),
  };
  try {
    const manifest = await store.getJson<{
      artifactType?: string;
      config?: { mediaType?: string };
      annotations?: Record<string, string>;
    }>(referrer.digest);
    const artifactType = manifest.artifactType ?? referrer.artifactType ?? manifest.config?.mediaType;
    return {
      ...base,
      ...(artifactType ? { artifactType } : {}),
      ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
    };
  } catch (error) {
    // Listed as recorded; fetching it will answer why it cannot be served.
    options.logger.warn(
      { digest: referrer.digest, error: (error as Error).message },
      'referrer manifest unreadable',
    );
    return base;
  }
}

/** The media type a stored manifest declares, or undefined if the blob is not a manifest. */
function manifestMediaType(bytes: Buffer): string | undefined {
  let document: { schemaVersion?: unknown; mediaType?: unknown; config?: unknown; manifests?: unknown };
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof document !== 'object' || document === null || document.schemaVersion !== 2) return undefined;
  if (typeof document.mediaType === 'string') return document.mediaType;
  if (Array.isArray(document.manifests)) return MediaType.imageIndex;
  if (document.config) return MediaType.imageManifest;
  return undefined;
}

function sendBytes(c: Context, bytes: Buffer, options: { digest: Digest; contentType: string }): Response {
  c.header('Content-Type', options.contentType);
  c.header('Content-Length', String(bytes.byteLength));
  c.header('Docker-Content-Digest', options.digest);
  c.header('ETag', `"${options.digest}"`);
  // readFile's buffers sit on a plain ArrayBuffer, never a SharedArrayBuffer.
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200);
}
