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
}

const defaultMaxBytes = 2 * 1024 ** 3;

export class HttpFetcher implements Fetcher {
  async fetchBytes(url: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? defaultMaxBytes;
    if (url.startsWith('file:')) return this.readLocal(url, maxBytes);
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow' });
    } catch (error) {
      throw new DebianError('FETCH_FAILED', `could not fetch ${url}: ${describe(error)}`, { cause: error });
    }
    if (!response.ok || !response.body) {
      throw new DebianError('FETCH_FAILED', `could not fetch ${url}: HTTP ${response.status}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        throw new DebianError('FETCH_FAILED', `${url} is larger than the ${maxBytes}-byte limit`);
      }
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks, total);
  }

  private async readLocal(url: string, maxBytes: number): Promise<Buffer> {
    try {
      const bytes = await readFile(fileURLToPath(url));
      if (bytes.length > maxBytes) throw new Error(`larger than the ${maxBytes}-byte limit`);
      return bytes;
    } catch (error) {
      throw new DebianError('FETCH_FAILED', `could not read ${url}: ${describe(error)}`, { cause: error });
    }
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
