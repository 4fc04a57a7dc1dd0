/**
 * Loads one suite's package index with a chain of trust from the keyring to every record:
 * keyring → InRelease signature → Release SHA256 → Packages index bytes → stanza SHA256 (checked
 * later, per .deb). Any break fails closed with the suite and file named.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { type Compression, decompressChunks, decompressToBuffer, OciError } from '../oci/index.js';
import { DebianError } from './errors.js';
import { type Fetcher, ResponseTooLarge } from './fetcher.js';
import type { PackagesIndexCache } from './index-cache.js';
import { type IndexOrigin, PackagesIndexParser, parsePackagesIndex } from './packages-index.js';
import { checkReleaseSuite, type ReleaseFile, readKeyring, verifyInRelease } from './release.js';
import type { AptSource, KeyringRef } from './sources.js';
import type { PackageRecord } from './types.js';

/** One suite's InRelease, verified: signed by the keyring, signed for this suite, not expired. */
export interface SuiteRelease {
  source: AptSource;
  /** The InRelease URL, for messages. */
  url: string;
  release: ReleaseFile;
  /** Fingerprint of the key that signed InRelease. */
  signer: string;
  /** sha256 of the InRelease bytes, recorded in the lock as evidence of what was trusted. */
  inReleaseSha256: string;
}

export interface SuiteIndex extends SuiteRelease {
  packages: PackageRecord[];
  /** Cached indexes that did not match their signed digest, each replaced by a fresh download. */
  replacedCacheEntries: string[];
}

/**
 * Index files in order of preference. gzip first: zlib decodes Debian's 50 MB main index about
 * three times faster than xz does, in process and while it downloads, which more than pays for a
 * larger download (12 MB against 8.8 MB for bookworm's main).
 */
const indexCompressions = ['.gz', '.xz', ''] as const;

/**
 * Fetches and verifies one suite's InRelease. Nothing else of the suite is read until it passes;
 * the caller then compares its Date with what herd remembers (release-dates.ts) before loading
 * the suite's packages.
 */
export async function fetchSuiteRelease(
  source: AptSource,
  options: { fetcher: Fetcher; now?: Date },
): Promise<SuiteRelease> {
  const url = `${source.uri}dists/${source.suite}/InRelease`;
  const keys = await loadKeyring(source.keyring);
  const inReleaseBytes = await options.fetcher.fetchBytes(url, { maxBytes: 64 * 1024 ** 2 });
  const { release, signer } = await verifyInRelease(inReleaseBytes.toString('utf8'), {
    keys,
    name: url,
    ...(options.now ? { now: options.now } : {}),
  });
  checkReleaseSuite(release, { suite: source.suite, name: url });
  return {
    source,
    url,
    release,
    signer,
    inReleaseSha256: createHash('sha256').update(inReleaseBytes).digest('hex'),
  };
}

/**
 * Loads the Packages indexes a verified Release names, each checked against its SHA256 line: from
 * `cache` when it holds the index under the digest Release gives it, else downloaded (all of the
 * suite's indexes at once), decompressed as it arrives, and then cached.
 */
export async function loadSuiteIndex(
  suiteRelease: SuiteRelease,
  options: { architecture: string; fetcher: Fetcher; cache?: PackagesIndexCache },
): Promise<SuiteIndex> {
  const { source, release } = suiteRelease;
  const base = `${source.uri}dists/${source.suite}/`;
  const arches = [options.architecture];
  // As apt does: arch:all packages have an index of their own only when Release lists `all` among
  // its architectures and does not say No-Support-for-Architecture-all.
  if (release.architectures.includes('all') && !release.noSeparateArchAll) arches.push('all');
  const stems: string[] = [];
  for (const component of source.components) {
    for (const arch of arches) {
      const stem = `${component}/binary-${arch}/Packages`;
      if (pickIndex(release, stem)) stems.push(stem);
      else if (arch !== 'all') {
        throw new DebianError(
          'INDEX_MISSING',
          `${base}InRelease lists no ${stem} index for suite ${source.suite}`,
        );
      }
    }
  }
  const origin = { suite: source.suite, repository: source.uri };
  const loaded = await Promise.all(
    stems.map((stem) => loadPackagesIndex(stem, { base, origin, release, ...options })),
  );
  return {
    ...suiteRelease,
    packages: loaded.flatMap((index) => index.packages),
    replacedCacheEntries: loaded.flatMap((index) => (index.replaced ? [index.replaced] : [])),
  };
}

/**
 * One index's records. The cache is keyed by the uncompressed index's signed digest, which the
 * decompressed download is checked against too, so the cache holds only what Release signed.
 */
async function loadPackagesIndex(
  stem: string,
  options: {
    base: string;
    origin: { suite: string; repository: string };
    release: ReleaseFile;
    fetcher: Fetcher;
    cache?: PackagesIndexCache;
  },
): Promise<{ packages: PackageRecord[]; replaced?: string }> {
  const { cache, release } = options;
  const plain = cache ? release.sha256.get(stem) : undefined;
  let replaced: string | undefined;
  if (cache && plain) {
    const lookup = await cache.get(plain);
    if (lookup.kind === 'hit') return { packages: parsePackagesIndex(lookup.bytes, options.origin) };
    if (lookup.kind === 'untrusted') replaced = lookup.reason;
  }
  const index = pickIndex(release, stem) as IndexFile;
  const downloaded = await downloadIndex(options.base, index, options);
  const { url, parsed } = downloaded;
  if (plain && index.path !== stem) {
    const decompressed = { url: `${url} (decompressed, as ${stem})`, expected: plain };
    if (parsed) checkPiecesDigest(parsed.pieces, decompressed);
    else checkIndexDigest(downloaded.bytes, decompressed);
  }
  // The cache file is written while the index is parsed (or once it was, as it came in).
  const storing =
    cache && plain ? cache.put(plain.sha256, parsed ? parsed.pieces : downloaded.bytes) : Promise.resolve();
  let packages: PackageRecord[];
  try {
    packages = parsed ? parsed.records() : parsePackagesIndex(downloaded.bytes, options.origin);
  } catch (error) {
    await storing.catch(() => undefined);
    throw error;
  }
  await storing;
  return { packages, ...(replaced ? { replaced } : {}) };
}

interface IndexFile {
  path: string;
  sha256: string;
  size: number;
}

/** The decompressed index, parsed as it came in, or (uncompressed, or too large to hold) its bytes. */
type DownloadedIndex =
  | { url: string; parsed: PackagesIndexParser; bytes?: undefined }
  | { url: string; bytes: Buffer; parsed?: undefined };

/**
 * The decompressed index. It is hashed and decompressed as it downloads; whatever the decoder
 * says, the download is read to its end (never past the size the signed Release gives: endless
 * data) and checked against its SHA256 line before any decoded byte is used or any decoding error
 * reported.
 */
async function downloadIndex(
  base: string,
  index: IndexFile,
  options: { release: ReleaseFile; fetcher: Fetcher; origin: IndexOrigin },
): Promise<DownloadedIndex> {
  const { url, chunks } = await openIndex(base, index, options);
  const iterator = chunks[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  const received: Buffer[] = [];
  let size = 0;
  const next = async (): Promise<Buffer | undefined> => {
    const { done, value } = await iterator.next();
    if (done) return undefined;
    hash.update(value);
    received.push(value);
    size += value.length;
    return value;
  };
  // Not a for-await over `iterator`: a decoder that stops early must not close the download.
  async function* download(): AsyncGenerator<Buffer> {
    for (let chunk = await next(); chunk; chunk = await next()) yield chunk;
  }
  const compression = compressionOf(index.path);
  let parsed: PackagesIndexParser | undefined;
  let decodeError: unknown;
  try {
    if (compression) {
      parsed = await decodeParsed(download(), { compression, url, size: index.size, origin: options.origin });
    }
  } catch (error) {
    // The download's own failure, passed on by the decoder.
    if (error instanceof DebianError) throw sizeMismatch(error, { url, index });
    decodeError = error;
  }
  try {
    while (await next());
  } catch (error) {
    throw sizeMismatch(error, { url, index });
  }
  const bytes = Buffer.concat(received, size);
  checkDigest({ sha256: hash.digest('hex'), size }, { url, expected: index });
  if (!compression) return { url, bytes };
  if (decodeError !== undefined) throw indexDecodeError(decodeError);
  // The compressed bytes are only needed again when the index was too large to hold as it decoded.
  if (parsed) return { url, parsed };
  return { url, bytes: await decompressIndex(bytes, { path: index.path, url }) };
}

/**
 * The index parsed while it downloads and decodes, its bytes held (as the parser's pieces), at
 * most max(32 MiB, 16 × the signed compressed size) as decompressToBuffer holds it. Past that,
 * undefined: the caller decodes the verified download again, counting first, so a bomb is refused
 * holding little. Nothing parsed is used, nor any parse error reported, before the caller has
 * checked the download's digest and the decompressed bytes' (PackagesIndexParser holds the error).
 */
async function decodeParsed(
  input: AsyncIterable<Buffer>,
  options: { compression: Compression; url: string; size: number; origin: IndexOrigin },
): Promise<PackagesIndexParser | undefined> {
  const holdLimit = Math.min(maxIndexBytes, Math.max(32 * 1024 ** 2, 16 * options.size));
  const parser = new PackagesIndexParser(options.origin);
  let total = 0;
  for await (const chunk of decompressChunks(input, {
    compression: options.compression,
    name: options.url,
    maxBytes: maxIndexBytes,
  })) {
    total += chunk.length;
    if (total > holdLimit) return undefined;
    parser.push(chunk);
  }
  parser.end();
  return parser;
}

/**
 * With Acquire-By-Hash, opens `by-hash/SHA256/<hex>`: a mirror that is halfway through an update
 * still serves the exact bytes the signed Release names. Falls back to the plain path, whose digest
 * is checked all the same. Neither is read past the size the signed Release gives.
 */
async function openIndex(
  base: string,
  index: IndexFile,
  options: { release: ReleaseFile; fetcher: Fetcher },
): Promise<{ url: string; chunks: AsyncIterable<Buffer> }> {
  const limit = { maxBytes: index.size };
  if (options.release.acquireByHash) {
    const dir = index.path.slice(0, index.path.lastIndexOf('/'));
    const url = `${base}${dir}/by-hash/SHA256/${index.sha256}`;
    try {
      return { url, chunks: await options.fetcher.openChunks(url, limit) };
    } catch {
      // Not every mirror keeps by-hash files; the plain path is verified the same way.
    }
  }
  const url = `${base}${index.path}`;
  return { url, chunks: await options.fetcher.openChunks(url, limit) };
}

/** More bytes than the signed Release gives is an index that does not match it, endless or not. */
function sizeMismatch(error: unknown, context: { url: string; index: IndexFile }): unknown {
  const { url, index } = context;
  if (error instanceof ResponseTooLarge && error.limit === index.size) {
    return new DebianError(
      'DIGEST_MISMATCH',
      `package index digest mismatch for ${url}: it is larger than the ${index.size}-byte limit, ` +
        `Release says sha256:${index.sha256} (${index.size} bytes)`,
      { cause: error },
    );
  }
  return error;
}

function compressionOf(path: string): Compression | undefined {
  return path.endsWith('.xz') ? 'xz' : path.endsWith('.gz') ? 'gzip' : undefined;
}

function pickIndex(release: ReleaseFile, stem: string) {
  for (const suffix of indexCompressions) {
    const entry = release.sha256.get(stem + suffix);
    if (entry) return { path: stem + suffix, ...entry };
  }
  return undefined;
}

/** checkIndexDigest over bytes held as the pieces they were parsed in. */
function checkPiecesDigest(
  pieces: readonly Buffer[],
  options: { url: string; expected: { sha256: string; size: number } },
) {
  const hash = createHash('sha256');
  let size = 0;
  for (const piece of pieces) {
    hash.update(piece);
    size += piece.length;
  }
  checkDigest({ sha256: hash.digest('hex'), size }, options);
}

export function checkIndexDigest(
  bytes: Buffer,
  options: { url: string; expected: { sha256: string; size: number } },
) {
  checkDigest({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }, options);
}

function checkDigest(
  actual: { sha256: string; size: number },
  options: { url: string; expected: { sha256: string; size: number } },
) {
  if (actual.size !== options.expected.size || actual.sha256 !== options.expected.sha256) {
    throw new DebianError(
      'DIGEST_MISMATCH',
      `package index digest mismatch for ${options.url}: got sha256:${actual.sha256} (${actual.size} bytes), ` +
        `Release says sha256:${options.expected.sha256} (${options.expected.size} bytes)`,
    );
  }
}

/** Five times Debian's largest index (main/binary-amd64, about 50 MB); past it, decoding stops. */
export const maxIndexBytes = 256 * 1024 ** 2;

/**
 * Decoded with a cap: a signed index can still be a decompression bomb. The compression follows
 * the Release's path, since a by-hash URL has no suffix.
 */
async function decompressIndex(bytes: Buffer, index: { path: string; url: string }): Promise<Buffer> {
  const { path, url } = index;
  const compression = compressionOf(path);
  if (compression === undefined) return bytes;
  try {
    return await decompressToBuffer(bytes, { compression, name: url, maxBytes: maxIndexBytes });
  } catch (error) {
    throw indexDecodeError(error);
  }
}

function indexDecodeError(error: unknown): unknown {
  if (!(error instanceof OciError)) return error;
  const code = error.code === 'DECOMPRESSED_TOO_LARGE' ? 'DECOMPRESSED_TOO_LARGE' : 'INDEX_MALFORMED';
  return new DebianError(code, `package index ${error.message}`, { cause: error });
}

async function loadKeyring(ref: KeyringRef): Promise<openpgp.PublicKey[]> {
  if (ref.kind === 'inline') {
    return readKeyring(Buffer.from(ref.armored, 'utf8'), { name: 'the inline Signed-By key' });
  }
  if (ref.paths.length === 0) {
    throw new DebianError(
      'KEYRING_UNREADABLE',
      'no keyring is configured for this source (Signed-By is empty)',
    );
  }
  const keys: openpgp.PublicKey[] = [];
  for (const path of ref.paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new DebianError('KEYRING_UNREADABLE', `keyring ${path} could not be read`, { cause: error });
    }
    keys.push(...(await readKeyring(bytes, { name: path })));
  }
  return keys;
}
