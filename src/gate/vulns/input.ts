/**
 * Where vulnerability data comes from: an http(s) URL (streamed through fetch), a file (plain or
 * gzip, sniffed by its magic bytes, not its name), or a directory of OSV records. The effects of
 * `herd vulndb update` that touch the network or the disk, and nothing else.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompressChunks, OciError } from '../../oci/index.js';
import { VulnDbError } from './errors.js';

export type VulnInput =
  | {
      kind: 'stream';
      /** The URL or absolute path, for messages and the cache's metadata. */
      location: string;
      chunks: AsyncIterable<Uint8Array>;
      /** When the data was last changed: HTTP Last-Modified, or the file's mtime. */
      dataDate?: Date;
    }
  | { kind: 'osv-directory'; location: string; files: string[] };

export type FetchFunction = (url: string, init?: RequestInit) => Promise<Response>;

export async function openVulnInput(
  from: string,
  options: { fetch?: FetchFunction } = {},
): Promise<VulnInput> {
  if (/^https?:\/\//i.test(from)) return openUrl(from, options.fetch ?? fetch);
  const path = from.startsWith('file:') ? fileURLToPath(from) : resolve(from);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new VulnDbError('VULNDB_FETCH_FAILED', `could not read ${path}: ${describe(error)}`, {
      cause: error,
    });
  }
  if (info.isDirectory()) {
    const names = (await readdir(path)).filter((name) => name.endsWith('.json')).sort();
    return { kind: 'osv-directory', location: path, files: names.map((name) => resolve(path, name)) };
  }
  return {
    kind: 'stream',
    location: path,
    chunks: gunzipIfCompressed(readFileChunks(path), { name: path }),
    dataDate: info.mtime,
  };
}

async function openUrl(url: string, fetchFunction: FetchFunction): Promise<VulnInput> {
  let response: Response;
  try {
    response = await fetchFunction(url, { redirect: 'follow' });
  } catch (error) {
    throw new VulnDbError('VULNDB_FETCH_FAILED', `could not fetch ${url}: ${describe(error)}`, {
      cause: error,
    });
  }
  if (!response.ok || !response.body) {
    throw new VulnDbError('VULNDB_FETCH_FAILED', `could not fetch ${url}: HTTP ${response.status}`);
  }
  const lastModified = response.headers.get('last-modified');
  const dataDate = lastModified ? new Date(lastModified) : undefined;
  return {
    kind: 'stream',
    location: url,
    chunks: gunzipIfCompressed(responseChunks(response.body, url), { name: url }),
    ...(dataDate && !Number.isNaN(dataDate.getTime()) ? { dataDate } : {}),
  };
}

async function* readFileChunks(path: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
  } catch (error) {
    throw new VulnDbError('VULNDB_FETCH_FAILED', `could not read ${path}: ${describe(error)}`, {
      cause: error,
    });
  }
}

/** A connection that drops halfway is a fetch failure, not malformed data. */
async function* responseChunks(body: ReadableStream<Uint8Array>, url: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) yield chunk;
  } catch (error) {
    throw new VulnDbError('VULNDB_FETCH_FAILED', `download of ${url} failed: ${describe(error)}`, {
      cause: error,
    });
  }
}

/** Far above the tracker's data/json; past it, a gzip input is endless data and stops. */
const maxDataBytes = 2 * 1024 ** 3;

/**
 * Gunzips the stream when it starts with gzip's magic bytes (1f 8b), and passes it through
 * otherwise: `data/json` may be served either way, and a saved copy may be named either way.
 * The gunzipped stream stops at maxDataBytes with VULNDB_TOO_LARGE.
 */
export async function* gunzipIfCompressed(
  chunks: AsyncIterable<Uint8Array>,
  options: { name: string; maxBytes?: number },
): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let finished = false;
  while (headBytes < 2) {
    const next = await iterator.next();
    if (next.done) {
      finished = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const first = Buffer.concat(head);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (first.length > 0) yield first;
    if (finished) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  if (first[0] !== 0x1f || first[1] !== 0x8b) {
    yield* rest();
    return;
  }
  try {
    const maxBytes = options.maxBytes ?? maxDataBytes;
    yield* decompressChunks(rest(), { compression: 'gzip', name: options.name, maxBytes });
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    const code = error.code === 'DECOMPRESSED_TOO_LARGE' ? 'VULNDB_TOO_LARGE' : 'VULNDB_MALFORMED';
    throw new VulnDbError(code, error.message, { cause: error });
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
