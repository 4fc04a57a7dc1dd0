import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { DebianError } from './errors.js';
import { HttpFetcher } from './fetcher.js';
import { fetchSuiteRelease, loadSuiteIndex } from './suite-index.js';

/** What the hostile mirror sends after the real index at most: enough to tell a cap from none. */
const endlessBytes = 8 * 1024 ** 2;

describe('a mirror that sends endless data for a Packages index', () => {
  let dir: string;
  let repo: FixtureRepo;
  let mirror: Server;
  let mirrorUri: string;
  let sent = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-suite-index-'));
    repo = await createAptRepo({
      dir,
      suites: [{ name: 'stable' }],
      packages: [{ name: 'tiny', version: '1.0' }],
      indexCompression: [],
    });
    // The signed InRelease as the archive made it; each Packages index followed by zeros.
    mirror = createServer(async (request, response) => {
      const upstream = await fetch(new URL(request.url?.slice(1) ?? '', repo.uri));
      const body = Buffer.from(await upstream.arrayBuffer());
      response.writeHead(upstream.status);
      if (!request.url?.includes('/Packages')) {
        response.end(body);
        return;
      }
      response.write(body);
      const zeros = Buffer.alloc(64 * 1024);
      const more = () => {
        while (sent < endlessBytes && !response.destroyed) {
          sent += zeros.length;
          if (!response.write(zeros)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    mirrorUri = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/`;
  });

  after(async () => {
    mirror?.close();
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads no more of it than the size its signed Release gives', async () => {
    const source = {
      uri: mirrorUri,
      suite: 'stable',
      components: ['main'],
      keyring: { kind: 'files' as const, paths: [repo.keyringPath] },
      origin: 'test',
    };
    const fetcher = new HttpFetcher();
    const release = await fetchSuiteRelease(source, { fetcher });
    const listed = release.release.sha256.get('main/binary-amd64/Packages')?.size;

    await assert.rejects(loadSuiteIndex(release, { architecture: 'amd64', fetcher }), (error: unknown) => {
      assert.ok(error instanceof DebianError);
      // More than the signed size is an index that does not match its Release, as other bytes are.
      assert.equal(error.code, 'DIGEST_MISMATCH');
      assert.match(error.message, new RegExp(`larger than the ${listed}-byte limit`));
      return true;
    });
  });
});
