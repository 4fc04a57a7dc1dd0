/**
 * Loads one suite's package index with a chain of trust from the keyring to every record:
 * keyring → InRelease signature → Release SHA256 → Packages index bytes → stanza SHA256 (checked
 * later, per .deb). Any break fails closed with the suite and file named.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as openpgp from 'openpgp';
import { type Compression, decompressToBuffer, OciError } from '../oci/index.js';
import { parsePackagesIndex } from './control.js';
import { DebianError } from './errors.js';
import type { Fetcher } from './fetcher.js';
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
}

/** Index files in order of preference: smallest download first. */
const indexCompressions = ['.xz', '.gz', ''] as const;

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

/** Loads the Packages indexes a verified Release names, each checked against its SHA256 line. */
export async function loadSuiteIndex(
  suiteRelease: SuiteRelease,
  options: { architecture: string; fetcher: Fetcher },
): Promise<SuiteIndex> {
  const { source, release } = suiteRelease;
  const base = `${source.uri}dists/${source.suite}/`;
  const arches = [options.architecture];
  // As apt does: arch:all packages have an index of their own only when Release lists `all` among
  // its architectures and does not say No-Support-for-Architecture-all.
  if (release.architectures.includes('all') && !release.noSeparateArchAll) arches.push('all');
  const packages: PackageRecord[] = [];
  for (const component of source.components) {
    for (const arch of arches) {
      const index = pickIndex(release, `${component}/binary-${arch}/Packages`);
      if (!index) {
        if (arch === 'all') continue;
        throw new DebianError(
          'INDEX_MISSING',
          `${base}InRelease lists no ${component}/binary-${arch}/Packages index for suite ${source.suite}`,
        );
      }
      const { url, bytes } = await fetchIndex(base, index, { release, fetcher: options.fetcher });
      checkIndexDigest(bytes, { url, expected: index });
      const text = (await decompressIndex(bytes, { path: index.path, url })).toString('utf8');
      packages.push(...parsePackagesIndex(text, { suite: source.suite, repository: source.uri }));
    }
  }
  return { ...suiteRelease, packages };
}

/**
 * With Acquire-By-Hash, fetches `by-hash/SHA256/<hex>`: a mirror that is halfway through an update
 * still serves the exact bytes the signed Release names. Falls back to the plain path, whose digest
 * is checked all the same. Neither is read past the size the signed Release gives (endless data).
 */
async function fetchIndex(
  base: string,
  index: { path: string; sha256: string; size: number },
  options: { release: ReleaseFile; fetcher: Fetcher },
): Promise<{ url: string; bytes: Buffer }> {
  const limit = { maxBytes: index.size };
  if (options.release.acquireByHash) {
    const dir = index.path.slice(0, index.path.lastIndexOf('/'));
    const url = `${base}${dir}/by-hash/SHA256/${index.sha256}`;
    try {
      return { url, bytes: await options.fetcher.fetchBytes(url, limit) };
    } catch {
      // Not every mirror keeps by-hash files; the plain path is verified the same way.
    }
  }
  const url = `${base}${index.path}`;
  try {
    return { url, bytes: await options.fetcher.fetchBytes(url, limit) };
  } catch (error) {
    // More bytes than the signed Release gives is an index that does not match it, endless or not.
    if (error instanceof DebianError && error.message.includes(`larger than the ${index.size}-byte limit`)) {
      throw new DebianError(
        'DIGEST_MISMATCH',
        `package index digest mismatch for ${url}: it is larger than the ${index.size}-byte limit, ` +
          `Release says sha256:${index.sha256} (${index.size} bytes)`,
        { cause: error },
      );
    }
    throw error;
  }
}

function pickIndex(release: ReleaseFile, stem: string) {
  for (const suffix of indexCompressions) {
    const entry = release.sha256.get(stem + suffix);
    if (entry) return { path: stem + suffix, ...entry };
  }
  return undefined;
}

export function checkIndexDigest(
  bytes: Buffer,
  options: { url: string; expected: { sha256: string; size: number } },
) {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== options.expected.size || actual !== options.expected.sha256) {
    throw new DebianError(
      'DIGEST_MISMATCH',
      `package index digest mismatch for ${options.url}: got sha256:${actual} (${bytes.length} bytes), ` +
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
  const compression: Compression | undefined = path.endsWith('.xz')
    ? 'xz'
    : path.endsWith('.gz')
      ? 'gzip'
      : undefined;
  if (compression === undefined) return bytes;
  try {
    return await decompressToBuffer(bytes, { compression, name: url, maxBytes: maxIndexBytes });
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    const code = error.code === 'DECOMPRESSED_TOO_LARGE' ? 'DECOMPRESSED_TOO_LARGE' : 'INDEX_MALFORMED';
    throw new DebianError(code, `package index ${error.message}`, { cause: error });
  }
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
