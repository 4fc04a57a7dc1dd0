/**
 * Loads one suite's package index with a chain of trust from the keyring to every record:
 * keyring → InRelease signature → Release SHA256 → Packages index bytes → stanza SHA256 (checked
 * later, per .deb). Any break fails closed with the suite and file named.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import type * as openpgp from 'openpgp';
import { parsePackagesIndex } from './control.js';
import { DebianError } from './errors.js';
import type { Fetcher } from './fetcher.js';
import { type ReleaseFile, readKeyring, verifyInRelease } from './release.js';
import type { AptSource, KeyringRef } from './sources.js';
import type { PackageRecord } from './types.js';

export interface SuiteIndex {
  source: AptSource;
  release: ReleaseFile;
  /** Fingerprint of the key that signed InRelease. */
  signer: string;
  /** sha256 of the InRelease bytes, recorded in the lock as evidence of what was trusted. */
  inReleaseSha256: string;
  packages: PackageRecord[];
}

/** Index files in order of preference: smallest download first. */
const indexCompressions = ['.xz', '.gz', ''] as const;

export async function loadSuiteIndex(
  source: AptSource,
  options: { architecture: string; fetcher: Fetcher; now?: Date },
): Promise<SuiteIndex> {
  const base = `${source.uri}dists/${source.suite}/`;
  const keys = await loadKeyring(source.keyring);
  const inReleaseBytes = await options.fetcher.fetchBytes(`${base}InRelease`, { maxBytes: 64 * 1024 ** 2 });
  const { release, signer } = await verifyInRelease(inReleaseBytes.toString('utf8'), {
    keys,
    name: `${base}InRelease`,
    ...(options.now ? { now: options.now } : {}),
  });
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
      const text = (await decompressIndex(bytes, index.path)).toString('utf8');
      packages.push(...parsePackagesIndex(text, { suite: source.suite, repository: source.uri }));
    }
  }
  return {
    source,
    release,
    signer,
    inReleaseSha256: createHash('sha256').update(inReleaseBytes).digest('hex'),
    packages,
  };
}

/**
 * With Acquire-By-Hash, fetches `by-hash/SHA256/<hex>`: a mirror that is halfway through an update
 * still serves the exact bytes the signed Release names. Falls back to the plain path, whose digest
 * is checked all the same.
 */
async function fetchIndex(
  base: string,
  index: { path: string; sha256: string },
  options: { release: ReleaseFile; fetcher: Fetcher },
): Promise<{ url: string; bytes: Buffer }> {
  if (options.release.acquireByHash) {
    const dir = index.path.slice(0, index.path.lastIndexOf('/'));
    const url = `${base}${dir}/by-hash/SHA256/${index.sha256}`;
    try {
      return { url, bytes: await options.fetcher.fetchBytes(url) };
    } catch {
      // Not every mirror keeps by-hash files; the plain path is verified the same way.
    }
  }
  const url = `${base}${index.path}`;
  return { url, bytes: await options.fetcher.fetchBytes(url) };
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

async function decompressIndex(bytes: Buffer, path: string): Promise<Buffer> {
  if (path.endsWith('.xz')) return Buffer.from(await xz.decompress(bytes));
  if (path.endsWith('.gz')) return gunzipSync(bytes);
  return bytes;
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
