import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { xz } from '@napi-rs/lzma';
import { createAptRepo, type FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { sha256Hex } from '../common/index.js';
import { DebianError } from './errors.js';
import { type Fetcher, HttpFetcher } from './fetcher.js';
import { PackagesIndexCache } from './index-cache.js';
import type { AptSource } from './sources.js';
import { fetchSuiteRelease, loadSuiteIndex } from './suite-index.js';

/** The real fetcher, counting what is asked of the mirror. */
class CountingFetcher implements Fetcher {
  readonly urls: string[] = [];
  private readonly http = new HttpFetcher();

  fetchBytes(url: string, options?: { maxBytes?: number }) {
    this.urls.push(url);
    return this.http.fetchBytes(url, options);
  }

  openChunks(url: string, options?: { maxBytes?: number }) {
    this.urls.push(url);
    return this.http.openChunks(url, options);
  }

  packagesRequests(): string[] {
    return this.urls.filter((url) => !url.endsWith('/InRelease'));
  }
}

function sourceOf(repo: FixtureRepo): AptSource {
  return {
    uri: repo.uri,
    suite: 'stable',
    components: ['main'],
    keyring: { kind: 'files', paths: [repo.keyringPath] },
    origin: 'test',
  };
}

const packages = [
  { name: 'tiny', version: '1.0' },
  { name: 'other', version: '2.0', depends: 'tiny' },
];

describe('the Packages index cache', () => {
  let dir: string;
  let repo: FixtureRepo;
  let plainDigest: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-index-cache-'));
    repo = await createAptRepo({ dir: join(dir, 'repo'), suites: [{ name: 'stable' }], packages });
    plainDigest = sha256Hex(await readFile(join(dir, 'repo', 'dists/stable/main/binary-amd64/Packages')));
  });

  after(async () => {
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(cache: PackagesIndexCache, fetcher = new CountingFetcher()) {
    const release = await fetchSuiteRelease(sourceOf(repo), { fetcher });
    const index = await loadSuiteIndex(release, { architecture: 'amd64', fetcher, cache });
    return { index, fetcher };
  }

  it('downloads an index once, then reads it from the cache while its signed digest is unchanged', async () => {
    const cache = new PackagesIndexCache(await mkdtemp(join(dir, 'cache-')));

    const first = await load(cache);
    const second = await load(cache);

    assert.equal(first.fetcher.packagesRequests().length, 1);
    assert.deepEqual(second.fetcher.packagesRequests(), []);
    assert.deepEqual(
      second.index.packages.map((p) => `${p.name} ${p.version}`),
      first.index.packages.map((p) => `${p.name} ${p.version}`),
    );
    assert.deepEqual(await readdir(join(cache.dir, 'sha256')), [plainDigest]);
  });

  it('takes the .gz when the Release lists it, and caches the index decompressed under its own signed digest', async () => {
    const cache = new PackagesIndexCache(await mkdtemp(join(dir, 'cache-')));

    const { fetcher } = await load(cache);

    assert.match(fetcher.packagesRequests()[0] ?? '', /by-hash\/SHA256\/[0-9a-f]{64}$|Packages\.gz$/);
    const cached = await readFile(cache.pathOf(plainDigest));
    assert.equal(sha256Hex(cached), plainDigest);
  });

  it('detects a tampered cache entry, names it and its digest, and resolves from the signed index instead', async () => {
    const cache = new PackagesIndexCache(await mkdtemp(join(dir, 'cache-')));
    await load(cache);
    const path = cache.pathOf(plainDigest);
    const signed = await readFile(path);
    // Whoever can write HERD_HOME swaps in an index with a package of their own.
    const injected = `Package: injected\nVersion: 6.6.6\nArchitecture: amd64\nFilename: pool/evil.deb\nSize: 1\nSHA256: ${'e'.repeat(64)}\n`;
    await writeFile(path, Buffer.concat([signed, Buffer.from(`\n${injected}`)]));

    const { index, fetcher } = await load(cache);

    assert.equal(index.replacedCacheEntries.length, 1);
    assert.match(
      index.replacedCacheEntries[0] ?? '',
      new RegExp(`${path}.*Release says sha256:${plainDigest}`),
    );
    assert.ok(!index.packages.some((p) => p.name === 'injected'));
    assert.equal(fetcher.packagesRequests().length, 1);
    assert.deepEqual(await readFile(path), signed);
  });

  it('reports a truncated cache entry as untrusted, with what it holds and what Release says', async () => {
    const cache = new PackagesIndexCache(await mkdtemp(join(dir, 'cache-')));
    await load(cache);
    const path = cache.pathOf(plainDigest);
    const signed = await readFile(path);
    await writeFile(path, signed.subarray(0, 10));

    const lookup = await cache.read({ sha256: plainDigest, size: signed.length }, () => undefined);

    assert.equal(lookup.kind, 'untrusted');
    assert.match(
      lookup.kind === 'untrusted' ? lookup.reason : '',
      new RegExp(
        `got sha256:${sha256Hex(signed.subarray(0, 10))} \\(10 bytes\\), Release says sha256:${plainDigest} \\(${signed.length} bytes\\)`,
      ),
    );
  });

  it('writes an entry given in many pieces whole on commit, and leaves nothing on abort', async () => {
    const cache = new PackagesIndexCache(await mkdtemp(join(dir, 'cache-')));
    const bytes = Buffer.alloc(3 * 1024 ** 2 + 5, 'Package: x\n');
    const kept = sha256Hex(bytes);
    const writer = await cache.writer(kept);
    for (let at = 0; at < bytes.length; at += 64 * 1024) writer.write(bytes.subarray(at, at + 64 * 1024));
    const dropped = await cache.writer('d'.repeat(64));
    dropped.write(bytes.subarray(0, 2 * 1024 ** 2));

    await writer.commit();
    await dropped.abort();

    assert.deepEqual(await readFile(cache.pathOf(kept)), bytes);
    assert.deepEqual(await readdir(join(cache.dir, 'sha256')), [kept]);
    const read: Buffer[] = [];
    assert.deepEqual(await cache.read({ sha256: kept, size: bytes.length }, (chunk) => read.push(chunk)), {
      kind: 'hit',
    });
    assert.deepEqual(Buffer.concat(read), bytes);
  });

  it('misses when nothing is cached under the digest', async () => {
    const cache = new PackagesIndexCache(await mkdtemp(join(dir, 'cache-')));

    assert.deepEqual(await cache.read({ sha256: plainDigest, size: 1 }, () => undefined), { kind: 'miss' });
  });
});

describe('a compressed index that decompresses to other bytes than its signed plain index', () => {
  let dir: string;
  let repo: FixtureRepo;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-index-cache-'));
    // An archive-key holder signs a Packages.xz whose content is not the Packages it also signs.
    const other =
      'Package: swapped\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/s.deb\nSize: 1\n' +
      `SHA256: ${'b'.repeat(64)}\n`;
    repo = await createAptRepo({
      dir: join(dir, 'repo'),
      suites: [{ name: 'stable', packagesXz: await xz.compress(Buffer.from(other)) }],
      packages,
      indexCompression: ['xz'],
    });
  });

  after(async () => {
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused with DIGEST_MISMATCH naming both, and nothing is cached', async () => {
    const cache = new PackagesIndexCache(join(dir, 'cache'));
    const fetcher = new HttpFetcher();
    const release = await fetchSuiteRelease(sourceOf(repo), { fetcher });

    await assert.rejects(loadSuiteIndex(release, { architecture: 'amd64', fetcher, cache }), (error) => {
      assert.ok(error instanceof DebianError);
      assert.equal(error.code, 'DIGEST_MISMATCH');
      assert.match(error.message, /Packages\.xz|by-hash/);
      assert.match(error.message, /decompressed, as main\/binary-amd64\/Packages/);
      return true;
    });
    // The entry was being written as the index decoded: neither it nor its temp file is left.
    assert.deepEqual(await readdir(join(dir, 'cache', 'sha256')), []);
  });
});
