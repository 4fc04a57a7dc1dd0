/**
 * Loads one suite's package index with a chain of trust from the keyring to every record:
 * keyring → InRelease signature → Release SHA256 → Packages index bytes → stanza SHA256 (checked
 * later, per .deb). Any break fails closed with the suite and file named.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { type Compression, decompressChunks, OciError } from '../oci/index.js';
import { DebianError } from './errors.js';
import { type Fetcher, ResponseTooLarge } from './fetcher.js';
import type { IndexCacheWriter, PackagesIndexCache } from './index-cache.js';
import { type IndexOrigin, PackagesIndexParser } from './packages-index.js';
import {
  checkReleaseSuite,
  type ReleaseFile,
  type ReleaseIndexEntry,
  readKeyring,
  verifyInRelease,
} from './release.js';
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
 * InRelease has no signed size to cut it at. Debian's are 100 to 300 KB; 16 MiB leaves room for any
 * archive of many components and architectures, and bounds what a mirror sending endlessly gets in
 * (and, at the fetcher's slowest accepted rate of 32 KiB/s, how long a dripping one holds herd:
 * under 9 minutes, not the 35 that 64 MiB allowed).
 */
export const maxInReleaseBytes = 16 * 1024 ** 2;

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
  const inReleaseBytes = await options.fetcher.fetchBytes(url, { maxBytes: maxInReleaseBytes });
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
 * Whether read from the cache or downloaded, the index is parsed as it streams in and never held
 * whole: what stays is its records.
 */
async function loadPackagesIndex(
  stem: string,
  options: {
    base: string;
    origin: IndexOrigin;
    release: ReleaseFile;
    fetcher: Fetcher;
    cache?: PackagesIndexCache;
  },
): Promise<{ packages: PackageRecord[]; replaced?: string }> {
  const { cache, release } = options;
  // Release lists the uncompressed index's size and digest even where only compressed files are served.
  const plain = release.sha256.get(stem);
  let replaced: string | undefined;
  if (cache && plain) {
    const parser = new PackagesIndexParser(options.origin);
    const lookup = await cache.read(plain, (chunk) => parser.push(chunk));
    if (lookup.kind === 'hit') return { packages: parser.records() };
    if (lookup.kind === 'untrusted') replaced = lookup.reason;
  }
  const index = pickIndex(release, stem) as IndexFile;
  // The cache file is written as the index decodes, and put in place once both digests match.
  const writer = cache && plain ? await cache.writer(plain.sha256) : undefined;
  try {
    const packages = await downloadIndex(options.base, index, {
      ...options,
      stem,
      ...(plain ? { plain } : {}),
      ...(writer ? { writer } : {}),
    });
    await writer?.commit();
    return { packages, ...(replaced ? { replaced } : {}) };
  } catch (error) {
    await writer?.abort();
    throw error;
  }
}

interface IndexFile {
  path: string;
  sha256: string;
  size: number;
}

/**
 * The index's records, parsed as it downloads and decodes. The download is hashed as it comes;
 * whatever the decoder says, it is read to its end (never past the size the signed Release gives:
 * endless data) and checked against its SHA256 line, then the decoded bytes against the plain
 * index's, before any record is used or any decoding or parse error reported.
 */
async function downloadIndex(
  base: string,
  index: IndexFile,
  options: {
    release: ReleaseFile;
    fetcher: Fetcher;
    origin: IndexOrigin;
    stem: string;
    plain?: ReleaseIndexEntry | undefined;
    writer?: IndexCacheWriter | undefined;
  },
): Promise<PackageRecord[]> {
  const { url, chunks } = await openIndex(base, index, options);
  const iterator = chunks[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  let size = 0;
  const next = async (): Promise<Buffer | undefined> => {
    const { done, value } = await iterator.next();
    if (done) return undefined;
    hash.update(value);
    size += value.length;
    return value;
  };
  // Not a for-await over `iterator`: a decoder that stops early must not close the download.
  async function* download(): AsyncGenerator<Buffer> {
    for (let chunk = await next(); chunk; chunk = await next()) yield chunk;
  }
  const compression = compressionOf(index.path);
  const decoded = new DecodedIndex(options);
  let decodeError: unknown;
  try {
    if (compression) {
      // The cap is the decoder's own: a signed index can still be a decompression bomb. Inflated
      // in 1 MiB pieces, not zlib's 64 KiB: fewer, larger pieces for the hash and the parser, about
      // 14% less CPU to decode and parse Debian's main index (measured, same peak memory).
      for await (const chunk of decompressChunks(download(), {
        compression,
        name: url,
        maxBytes: maxIndexBytes,
        chunkBytes: 1024 * 1024,
      })) {
        decoded.push(chunk);
      }
    } else {
      for await (const chunk of download()) decoded.push(chunk);
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
  checkDigest({ sha256: hash.digest('hex'), size }, { url, expected: index });
  if (decodeError !== undefined) throw indexDecodeError(decodeError);
  if (compression && options.plain) {
    checkDigest(decoded.digest(), {
      url: `${url} (decompressed, as ${options.stem})`,
      expected: options.plain,
    });
  }
  return decoded.parser.records();
}

/**
 * The decoded bytes of an index, hashed, parsed and written to the cache as they come, none of
 * them kept. Past the plain index's signed size the digest cannot match: the rest is only
 * counted and hashed, so a signed bomb costs no more records than the index it claims to be.
 */
class DecodedIndex {
  readonly parser: PackagesIndexParser;
  private readonly hash = createHash('sha256');
  private size = 0;
  private readonly limit: number;
  private readonly writer: IndexCacheWriter | undefined;

  constructor(options: {
    origin: IndexOrigin;
    plain?: ReleaseIndexEntry | undefined;
    writer?: IndexCacheWriter | undefined;
  }) {
    this.parser = new PackagesIndexParser(options.origin);
    this.limit = options.plain?.size ?? maxIndexBytes;
    this.writer = options.writer;
  }

  push(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.size > this.limit) return;
    this.parser.push(chunk);
    this.writer?.write(chunk);
  }

  digest(): { sha256: string; size: number } {
    return { sha256: this.hash.digest('hex'), size: this.size };
  }
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
