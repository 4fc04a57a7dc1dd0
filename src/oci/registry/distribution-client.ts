/**
 * One registry's OCI distribution API, endpoint by endpoint. It adds authentication (through
 * `RegistryAuth`), maps HTTP answers to `RegistryError` codes, and checks every digest a registry
 * reports against the one it was sent or asked for. Push and pull sit above it.
 * Spec: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
 */
import { type Logger, silentLogger } from '../../common/index.js';
import { sha256Digest } from '../digest.js';
import type { Digest } from '../types.js';
import { repositoryScope } from './challenge.js';
import { formatContentRange, parseUploadRange } from './content-range.js';
import { type Credentials, noCredentials } from './credentials.js';
import { RegistryError, type RegistryErrorCode } from './errors.js';
import { FetchTransport, type HttpMethod, type HttpTransport, redactUrl } from './http-transport.js';
import { RegistryAuth } from './registry-auth.js';
import { type Descriptor, ErrorBody, ImageIndex, ManifestMediaType } from './schema.js';

/** The spec's suggested ceiling for manifests: larger ones are refused, not buffered. */
export const maxManifestBytes = 4 * 1024 * 1024;

/** Every manifest type herd can store or select from, in order of preference. */
export const manifestAccept = [
  ManifestMediaType.ociManifest,
  ManifestMediaType.ociIndex,
  ManifestMediaType.dockerManifest,
  ManifestMediaType.dockerManifestList,
].join(', ');

export interface FetchedManifest {
  bytes: Buffer;
  /** The Content-Type the registry sent, without parameters. */
  mediaType: string;
  /** The digest of `bytes`, checked against `Docker-Content-Digest` when the registry sent one. */
  digest: Digest;
}

/** A blob to upload: its digest and size, and its bytes (already verified by the store). */
export interface BlobUpload {
  digest: Digest;
  bytes: Uint8Array;
}

export type UploadMethod = 'monolithic' | 'chunked';

interface RegistryRequest {
  method: HttpMethod;
  /** A path under the registry (`/v2/…`) or an absolute URL it handed out (upload locations). */
  target: string;
  scopes: string[];
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export class DistributionClient {
  /** `host[:port]` as the reference names it; credentials are looked up by this name. */
  readonly registry: string;
  readonly baseUrl: string;
  readonly #transport: HttpTransport;
  readonly #auth: RegistryAuth;
  readonly #logger: Pick<Logger, 'debug' | 'warn'>;

  constructor(options: {
    registry: string;
    baseUrl: string;
    credentials?: Credentials;
    transport?: HttpTransport;
    logger?: Pick<Logger, 'debug' | 'warn'>;
    now?: () => number;
  }) {
    this.registry = options.registry;
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#transport = options.transport ?? new FetchTransport();
    this.#logger = options.logger ?? silentLogger;
    this.#auth = new RegistryAuth({
      registry: options.registry,
      credentials: options.credentials ?? noCredentials,
      transport: this.#transport,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** `GET /v2/`: the registry answers and accepts our credentials (end-1). */
  async ping(): Promise<void> {
    const response = await this.#send({ method: 'GET', target: '/v2/', scopes: [] });
    await this.#expect(response, [200], { what: 'GET /v2/' });
  }

  /** `HEAD /v2/<name>/blobs/<digest>` (end-2): whether the repository already has the blob. */
  async blobExists(repository: string, digest: Digest): Promise<boolean> {
    const response = await this.#send({
      method: 'HEAD',
      target: `/v2/${repository}/blobs/${digest}`,
      scopes: [repositoryScope(repository, 'pull')],
    });
    if (response.status === 404) return false;
    await this.#expect(response, [200], { what: `HEAD blob ${digest} in ${repository}` });
    return true;
  }

  /**
   * `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>` (end-11): 201 means the registry
   * linked the blob without a byte sent; 202 means it could not, and opened an upload instead.
   */
  async mountBlob(
    repository: string,
    options: { digest: Digest; from: string },
  ): Promise<{ mounted: true } | { mounted: false; uploadUrl: string }> {
    const query = new URLSearchParams({ mount: options.digest, from: options.from });
    const response = await this.#send({
      method: 'POST',
      target: `/v2/${repository}/blobs/uploads/?${query}`,
      scopes: [repositoryScope(repository, 'pull,push'), repositoryScope(options.from, 'pull')],
    });
    const what = `mount of blob ${options.digest} from ${options.from} into ${repository}`;
    await this.#expect(response, [201, 202], { what, failAs: 'UPLOAD_FAILED', keepBody: true });
    await response.body?.cancel();
    if (response.status === 201) {
      this.#checkReportedDigest(response, { expected: options.digest, what });
      return { mounted: true };
    }
    return { mounted: false, uploadUrl: this.#location(response, what) };
  }

  /** `POST /v2/<name>/blobs/uploads/` (end-4a): opens an upload session and answers its URL. */
  async startUpload(repository: string): Promise<string> {
    const response = await this.#send({
      method: 'POST',
      target: `/v2/${repository}/blobs/uploads/`,
      scopes: [repositoryScope(repository, 'pull,push')],
    });
    const what = `upload start in ${repository}`;
    await this.#expect(response, [202], { what, failAs: 'UPLOAD_FAILED' });
    return this.#location(response, what);
  }

  /**
   * Uploads a blob into an open session. Blobs up to `chunkSize` go in one PUT (end-6); larger
   * ones as PATCHes of `chunkSize` bytes with Content-Range (end-5), closed by an empty PUT. The
   * registry must confirm the digest it computed, if it reports one.
   */
  async uploadBlob(
    repository: string,
    blob: BlobUpload,
    options: { uploadUrl?: string; chunkSize: number },
  ): Promise<UploadMethod> {
    const scopes = [repositoryScope(repository, 'pull,push')];
    const what = `upload of blob ${blob.digest} to ${repository}`;
    let location = options.uploadUrl ?? (await this.startUpload(repository));
    const method: UploadMethod = blob.bytes.byteLength > options.chunkSize ? 'chunked' : 'monolithic';
    if (method === 'chunked') {
      for (let start = 0; start < blob.bytes.byteLength; start += options.chunkSize) {
        const chunk = blob.bytes.subarray(start, Math.min(start + options.chunkSize, blob.bytes.byteLength));
        const range = formatContentRange(start, chunk.byteLength);
        const response = await this.#send({
          method: 'PATCH',
          target: location,
          scopes,
          headers: { 'content-type': 'application/octet-stream', 'content-range': range },
          body: chunk,
        });
        await this.#expect(response, [202], { what: `${what}, chunk ${range}`, failAs: 'UPLOAD_FAILED' });
        const received = parseUploadRange(response.headers.get('range'));
        const end = start + chunk.byteLength - 1;
        if (received && received.end !== end) {
          throw new RegistryError(
            'UPLOAD_FAILED',
            `${what}: registry holds bytes 0-${received.end} after chunk ${range}, expected 0-${end}`,
          );
        }
        location = this.#location(response, what);
      }
    }
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', blob.digest);
    const body = method === 'monolithic' ? blob.bytes : new Uint8Array();
    const response = await this.#send({
      method: 'PUT',
      target: url.href,
      scopes,
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    await this.#expect(response, [201], { what, failAs: 'UPLOAD_FAILED' });
    this.#checkReportedDigest(response, { expected: blob.digest, what });
    return method;
  }

  /**
   * `GET /v2/<name>/blobs/<digest>` (end-2). Answers the response for the caller to stream and
   * verify; redirects to storage are followed without the Authorization header.
   */
  async fetchBlob(repository: string, digest: Digest): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#send({
      method: 'GET',
      target: `/v2/${repository}/blobs/${digest}`,
      scopes: [repositoryScope(repository, 'pull')],
    });
    const what = `blob ${digest} in ${repository}`;
    await this.#expect(response, [200], { what, keepBody: true });
    this.#checkReportedDigest(response, { expected: digest, what });
    if (!response.body) throw new RegistryError('PROTOCOL_ERROR', `${what}: registry sent no body`);
    return response.body;
  }

  /** `HEAD /v2/<name>/manifests/<reference>` (end-3). */
  async manifestExists(repository: string, reference: string): Promise<boolean> {
    const response = await this.#send({
      method: 'HEAD',
      target: `/v2/${repository}/manifests/${reference}`,
      scopes: [repositoryScope(repository, 'pull')],
      headers: { accept: manifestAccept },
    });
    if (response.status === 404) return false;
    await this.#expect(response, [200], { what: `HEAD manifest ${reference} in ${repository}` });
    return true;
  }

  /**
   * `GET /v2/<name>/manifests/<reference>` (end-3). The bytes are hashed here; the registry's
   * `Docker-Content-Digest`, and the reference itself when it is a digest, must agree.
   */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const response = await this.#send({
      method: 'GET',
      target: `/v2/${repository}/manifests/${reference}`,
      scopes: [repositoryScope(repository, 'pull')],
      headers: { accept: manifestAccept },
    });
    const what = `manifest ${reference} in ${repository}`;
    await this.#expect(response, [200], { what, keepBody: true });
    const bytes = await readLimited(response, { limit: maxManifestBytes, what });
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `${what}: registry sent content that hashes to ${digest}, expected ${reference}`,
      );
    }
    this.#checkReportedDigest(response, { expected: digest, what });
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { bytes, mediaType, digest };
  }

  /**
   * `PUT /v2/<name>/manifests/<reference>` (end-7). Answers the `OCI-Subject` header, which an
   * OCI 1.1 registry sets when it indexed the manifest's subject for the referrers API.
   */
  async putManifest(
    repository: string,
    manifest: { reference: string; bytes: Uint8Array; mediaType: string },
  ): Promise<{ subject: string | undefined }> {
    const response = await this.#send({
      method: 'PUT',
      target: `/v2/${repository}/manifests/${manifest.reference}`,
      scopes: [repositoryScope(repository, 'pull,push')],
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
    });
    const what = `manifest ${manifest.reference} in ${repository}`;
    await this.#expect(response, [201], { what, failAs: 'UPLOAD_FAILED' });
    this.#checkReportedDigest(response, { expected: sha256Digest(manifest.bytes), what });
    return { subject: response.headers.get('oci-subject') ?? undefined };
  }

  /**
   * `GET /v2/<name>/referrers/<digest>` (end-12a). Undefined when the registry has no referrers
   * API (distribution 2.8 answers 404): the caller then uses the `sha256-<hex>` tag schema.
   */
  async getReferrers(repository: string, digest: Digest): Promise<Descriptor[] | undefined> {
    const response = await this.#send({
      method: 'GET',
      target: `/v2/${repository}/referrers/${digest}`,
      scopes: [repositoryScope(repository, 'pull')],
      headers: { accept: ManifestMediaType.ociIndex },
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    const what = `referrers of ${digest} in ${repository}`;
    await this.#expect(response, [200], { what, keepBody: true });
    const parsed = ImageIndex.safeParse(
      parseJson(await readLimited(response, { limit: maxManifestBytes, what })),
    );
    if (!parsed.success) {
      throw new RegistryError('PROTOCOL_ERROR', `${what}: registry sent something other than an image index`);
    }
    return parsed.data.manifests;
  }

  async #send(request: RegistryRequest): Promise<Response> {
    const url = new URL(request.target, this.baseUrl).href;
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.#auth.authorizationFor(request.scopes);
      const response = await this.#transport.send({
        method: request.method,
        url,
        headers: { ...request.headers, ...(authorization ? { authorization } : {}) },
        ...(request.body ? { body: request.body } : {}),
      });
      this.#logger.debug(
        { method: request.method, url: redactUrl(url), status: response.status },
        'registry request',
      );
      if (response.status !== 401) return response;
      await response.body?.cancel();
      if (attempt > 0) {
        throw new RegistryError(
          'AUTH_FAILED',
          `registry ${this.registry} refused the configured credentials for ${request.method} ${redactUrl(url)} (HTTP 401)`,
        );
      }
      this.#auth.challenged(response.headers.get('www-authenticate'), request.scopes);
    }
  }

  /**
   * Maps an unexpected status to an error code: 404 is NOT_FOUND, 401 and 403 AUTH_FAILED, a
   * DIGEST_INVALID body DIGEST_MISMATCH; anything else `failAs`. The registry's own error codes
   * and messages are quoted (they never carry our credentials), headers never are.
   */
  async #expect(
    response: Response,
    statuses: number[],
    options: { what: string; failAs?: RegistryErrorCode; keepBody?: boolean },
  ): Promise<void> {
    if (statuses.includes(response.status)) {
      if (!options.keepBody) await response.body?.cancel();
      return;
    }
    const details = await errorDetails(response);
    const codes = details.map((d) => d.code);
    const said =
      details.length > 0
        ? `: ${details.map((d) => `${d.code}${d.message ? ` ${d.message}` : ''}`).join('; ')}`
        : '';
    const code: RegistryErrorCode =
      response.status === 404
        ? 'NOT_FOUND'
        : response.status === 401 || response.status === 403
          ? 'AUTH_FAILED'
          : codes.includes('DIGEST_INVALID')
            ? 'DIGEST_MISMATCH'
            : (options.failAs ?? 'PROTOCOL_ERROR');
    throw new RegistryError(
      code,
      `${options.what}: registry ${this.registry} answered HTTP ${response.status}${said.slice(0, 300)}, expected ${statuses.join(' or ')}`,
    );
  }

  #checkReportedDigest(response: Response, options: { expected: Digest; what: string }): void {
    const { expected, what } = options;
    const reported = response.headers.get('docker-content-digest');
    if (reported && reported !== expected) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `${what}: registry ${this.registry} reports digest ${reported.slice(0, 80)}, expected ${expected}`,
      );
    }
  }

  #location(response: Response, what: string): string {
    const location = response.headers.get('location');
    if (!location) {
      throw new RegistryError(
        'PROTOCOL_ERROR',
        `${what}: registry answered ${response.status} without a Location header`,
      );
    }
    return new URL(location, this.baseUrl).href;
  }
}

/** Reads a whole body, refusing one larger than `limit` before it is all in memory. */
export async function readLimited(
  response: Response,
  options: { limit: number; what: string },
): Promise<Buffer> {
  const { limit, what } = options;
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel();
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `${what}: registry sent ${declared} bytes, expected at most ${limit}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.byteLength;
      if (total > limit) {
        // Throwing out of the loop cancels the stream through the iterator's return().
        throw new RegistryError('PROTOCOL_ERROR', `${what}: registry sent more than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError('PROTOCOL_ERROR', `${what}: the response was cut off after ${total} bytes`);
  }
  return Buffer.concat(chunks);
}

export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}

async function errorDetails(response: Response): Promise<{ code: string; message?: string }[]> {
  try {
    const text = await response.text();
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.errors.slice(0, 3) : [];
  } catch {
    return [];
  }
}
