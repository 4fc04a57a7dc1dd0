import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { type Fetcher, HttpFetcher } from '../debian/index.js';
import { type LoadedSpec, loadSpec } from '../specfile/index.js';
import { ResolutionMemo } from './resolution-memo.js';
import { resolveLock, sourcesForSpec } from './resolve-lock.js';

/** The real fetcher, counting the Packages indexes asked of the mirror. */
class CountingFetcher implements Fetcher {
  indexRequests = 0;
  private readonly http = new HttpFetcher();

  fetchBytes(url: string, options?: { maxBytes?: number }) {
    return this.http.fetchBytes(url, options);
  }

  openChunks(url: string, options?: { maxBytes?: number }) {
    if (!url.endsWith('/InRelease')) this.indexRequests++;
    return this.http.openChunks(url, options);
  }
}

describe('the resolution memo', () => {
  let dir: string;
  let repo: FixtureRepo;
  let loaded: LoadedSpec;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-resolution-memo-'));
    repo = await createAptRepo({
      dir: join(dir, 'repo'),
      suites: [{ name: 'test' }],
      packages: [
        { name: 'base-files', version: '12.4' },
        { name: 'libtiny', version: '1.0' },
        { name: 'tiny-bin', version: '1.0', depends: 'libtiny' },
      ],
    });
    await writeFile(
      join(dir, 'herd.yaml'),
      `apiVersion: herd/v1
service: tiny
image:
  suites: [test]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [tiny-bin]
`,
    );
    loaded = await loadSpec(dir);
  });

  after(async () => {
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function lockWith(memo: ResolutionMemo) {
    const fetcher = new CountingFetcher();
    const { lock } = await resolveLock(loaded, {
      fetcher,
      sources: sourcesForSpec(loaded),
      resolutionMemo: memo,
    });
    return { lock, indexRequests: fetcher.indexRequests };
  }

  async function freshMemo(): Promise<ResolutionMemo> {
    const home = await mkdtemp(join(dir, 'home-'));
    return ResolutionMemo.open({ dir: join(home, 'resolutions'), sealKey: join(home, 'keys', 'seal.key') });
  }

  it('gives the same lock again without reading a Packages index while every InRelease is unchanged', async () => {
    const memo = await freshMemo();

    const first = await lockWith(memo);
    const second = await lockWith(memo);

    assert.equal(first.indexRequests, 1);
    assert.equal(second.indexRequests, 0);
    assert.deepEqual(second.lock, first.lock);
    assert.deepEqual(
      second.lock.packages.map((p) => `${p.name} ${p.reason}`),
      ['base-files implicit', 'libtiny depends of tiny-bin', 'tiny-bin requested'],
    );
  });

  it('resolves again from the signed indexes when an entry was edited, and never takes the edit', async () => {
    const memo = await freshMemo();
    const { lock } = await lockWith(memo);
    const [path] = await entries(memo);
    const entry = JSON.parse(await readFile(path as string, 'utf8')) as { seal: string; body: string };
    // Whoever can write HERD_HOME/cache points tiny-bin at bytes of their own.
    const forged = entry.body.replace(lock.packages[2]?.sha256 ?? '', 'f'.repeat(64));
    await writeFile(path as string, JSON.stringify({ seal: entry.seal, body: forged }));

    const again = await lockWith(memo);

    assert.notEqual(forged, entry.body);
    assert.equal(again.indexRequests, 1);
    assert.deepEqual(again.lock, lock);
  });

  it('does not take a sealed entry moved under another key', async () => {
    const memo = await freshMemo();
    const { lock } = await lockWith(memo);
    const [path] = await entries(memo);
    const otherRequest = memo.keyOf({
      releases: [],
      architecture: 'amd64',
      recommends: false,
      suites: ['test'],
      requests: ['other'],
      withoutDependencies: [],
    });
    await rename(path as string, memo.pathOf(otherRequest));

    assert.equal(await memo.get(otherRequest), undefined);
    assert.ok(lock.packages.length > 0);
  });

  it('keys by every input: another request, option or InRelease is another key', () => {
    const memo = { keyOf: ResolutionMemo.prototype.keyOf };
    const release = {
      source: { uri: 'http://mirror.example/debian/', suite: 'test', components: ['main'] },
      inReleaseSha256: 'a'.repeat(64),
    } as never;
    const input = {
      releases: [release],
      architecture: 'amd64',
      recommends: false,
      suites: ['test'],
      requests: ['tiny-bin'],
      withoutDependencies: [],
    };

    const keys = new Set([
      memo.keyOf(input),
      memo.keyOf({ ...input, requests: ['tiny-bin', 'curl'] }),
      memo.keyOf({ ...input, recommends: true }),
      memo.keyOf({ ...input, architecture: 'arm64' }),
      memo.keyOf({ ...input, baseDigest: `sha256:${'b'.repeat(64)}` }),
      memo.keyOf({
        ...input,
        releases: [{ ...(release as object), inReleaseSha256: 'c'.repeat(64) } as never],
      }),
    ]);

    assert.equal(keys.size, 6);
  });
});

async function entries(memo: ResolutionMemo): Promise<string[]> {
  return (await readdir(memo.dir)).map((name) => join(memo.dir, name));
}
