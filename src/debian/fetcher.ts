/**
 * The one place herd's Debian code touches the network. http(s) and file:// URIs, as apt accepts.
 * Transport errors become FETCH_FAILED naming the URL; integrity is checked by the callers.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DebianError } from './errors.js';

export interface Fetcher {
  /** Returns the whole body, or throws FETCH_FAILED. `maxBytes` guards against endless bodies. */
  fetchBytes(url: string, options?: { maxBytes?: number }): Promise<Buffer>;
  /**
   * Opens the body to be read as it arrives, so it can be hashed and decompressed while it
   * downloads. A missing file fails here, before any chunk; a body past `maxBytes` fails while it
   * is read. Both are FETCH_FAILED.
   */
  openChunks(url: string, options?: { maxBytes?: number }): Promise<AsyncIterable<Buffer>>;
}

const defaultMaxBytes = 2 * 1024 ** 3;

export class HttpFetcher implements Fetcher {
  async fetchBytes(url: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.openChunks(url, options)) {
      chunks.push(chunk);
      total += chunk.length;
    }
    return Buffer.concat(chunks, total);
  }

  async openChunks(url: string, options: { maxBytes?: number } = {}): Promise<AsyncIterable<Buffer>> {
    const maxBytes = options.maxBytes ?? defaultMaxBytes;
    if (url.startsWith('file:')) {
      const bytes = await this.readLocal(url, maxBytes);
      return (async function* () {
        yield bytes;
      })();
    }
    const response = await fetchWithRetries(url);
    const body = response.body;
    if (!response.ok || !body) {
      await body?.cancel();
      throw new DebianError('FETCH_FAILED', `could not fetch ${url}: HTTP ${response.status}`);
    }
    return limited(body, { url, maxBytes });
  }

  private async readLocal(url: string, maxBytes: number): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(fileURLToPath(url));
    } catch (error) {
      throw new DebianError('FETCH_FAILED', `could not read ${url}: ${describe(error)}`, { cause: error });
    }
    if (bytes.length > maxBytes) throw new ResponseTooLarge(url, maxBytes);
    return bytes;
  }
}

/**
 * Waits before each new try of a request that got no answer at all (refused, reset, DNS), as apt's
 * Acquire::Retries does: a mirror that restarts or a loopback server that is slow to accept should
 * not fail a whole lock. An answer, even an error status, is never asked again.
 */
const retryDelaysMs = [100, 400, 1200];

async function fetchWithRetries(url: string): Promise<Response> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fetch(url, { redirect: 'follow' });
    } catch (error) {
      const delay = retryDelaysMs[attempt];
      if (delay === undefined) {
        throw new DebianError(
          'FETCH_FAILED',
          `could not fetch ${url} in ${attempt + 1} tries: ${describe(error)}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function* limited(
  body: AsyncIterable<Uint8Array>,
  options: { url: string; maxBytes: number },
): AsyncGenerator<Buffer> {
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > options.maxBytes) {
        throw new ResponseTooLarge(options.url, options.maxBytes);
      }
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (error) {
    if (error instanceof DebianError) throw error;
    throw new DebianError('FETCH_FAILED', `could not fetch ${options.url}: ${describe(error)}`, {
      cause: error,
    });
  }
}

/**
 * A response longer than the caller's limit. Still FETCH_FAILED to whoever only reads the code; a
 * caller whose limit is a signed size (an index's, from its Release) tells it apart by its class
 * and `limit`, not by its message.
 */
export class ResponseTooLarge extends DebianError {
  constructor(
    readonly url: string,
    readonly limit: number,
  ) {
    super('FETCH_FAILED', `${url} is larger than the ${limit}-byte limit`);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
