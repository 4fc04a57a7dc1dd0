/**
 * A signed repository (test/fixtures/apt-repo.ts) served through a hostile mirror: the real
 * InRelease and indexes, sent endlessly, cut short or stopped halfway. Each must fail quickly, with
 * the code and the URL, and never hand on what it got.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { DebianError } from './errors.js';
import { HttpFetcher } from './fetcher.js';
import type { AptSource } from './sources.js';
import { fetchSuiteRelease, loadSuiteIndex } from './suite-index.js';

/** What the mirror does with a file's real bytes. */
type Behaviour = 'as-is' | 'endless' | 'half' | 'stall-halfway';

describe('a hostile mirror serving a signed repository', { timeout: 60_000 }, () => {
  let dir: string;
  let repo: FixtureRepo;
  let mirror: Server;
  let source: AptSource;
  /** How the mirror treats InRelease and the Packages index in the current test. */
  const plan: { inRelease: Behaviour; packages: Behaviour } = { inRelease: 'as-is', packages: 'as-is' };
  let sent = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-hostile-mirror-'));
    repo = await createAptRepo({
      dir,
      suites: [{ name: 'stable' }],
      packages: [{ name: 'tiny', version: '1.0' }],
      indexCompression: [],
    });
    mirror = createServer(async (request, response) => {
      const upstream = await fetch(new URL(request.url?.slice(1) ?? '', repo.uri));
      const body = Buffer.from(await upstream.arrayBuffer());
      if (!upstream.ok) return void response.writeHead(upstream.status).end();
      const path = request.url ?? '';
      const behaviour = path.endsWith('/InRelease')
        ? plan.inRelease
        : path.includes('/Packages')
          ? plan.packages
          : 'as-is';
      serve(response, body, behaviour);
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    source = {
      uri: `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/`,
      suite: 'stable',
      components: ['main'],
      keyring: { kind: 'files', paths: [repo.keyringPath] },
      origin: 'test',
    };
  });

  after(async () => {
    mirror?.closeAllConnections();
    mirror?.close();
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function serve(response: ServerResponse, body: Buffer, behaviour: Behaviour): void {
    switch (behaviour) {
      case 'as-is':
        return void response.end(body);
      case 'half':
        return void response.end(body.subarray(0, body.length >> 1));
      case 'stall-halfway':
        response.writeHead(200, { 'content-length': String(body.length) });
        return void response.write(body.subarray(0, body.length >> 1));
      case 'endless': {
        response.writeHead(200);
        response.write(body);
        const zeros = Buffer.alloc(256 * 1024);
        const more = () => {
          while (!response.destroyed && sent < 4 * 1024 ** 3) {
            sent += zeros.length;
            if (!response.write(zeros)) return void response.once('drain', more);
          }
        };
        more();
        return;
      }
    }
  }

  async function refused(
    promise: Promise<unknown>,
    expected: { code: string; message: RegExp },
  ): Promise<void> {
    const started = performance.now();
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof DebianError, String(error));
      assert.equal(error.code, expected.code, error.message);
      assert.match(error.message, expected.message);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took < 10_000, `took ${Math.round(took)} ms`);
  }

  it('cuts an endless InRelease at its 16 MiB cap, having no signed size to go by', async () => {
    Object.assign(plan, { inRelease: 'endless', packages: 'as-is' });
    sent = 0;

    await refused(fetchSuiteRelease(source, { fetcher: new HttpFetcher() }), {
      code: 'FETCH_FAILED',
      message: new RegExp(`${source.uri}dists/stable/InRelease is larger than the 16777216-byte limit`),
    });
    // The cap and what the sockets hold, not the 4 GiB on offer.
    assert.ok(sent < 32 * 1024 ** 2, `the mirror got to send ${sent} bytes`);
  });

  it('fails with FETCH_TIMEOUT, naming InRelease, when the mirror stops sending it halfway', async () => {
    Object.assign(plan, { inRelease: 'stall-halfway', packages: 'as-is' });

    await refused(fetchSuiteRelease(source, { fetcher: new HttpFetcher({ stallTimeoutMs: 300 }) }), {
      code: 'FETCH_TIMEOUT',
      message: new RegExp(
        `could not fetch ${source.uri}dists/stable/InRelease: the mirror (sent nothing for|gave no answer within) 0.3 s`,
      ),
    });
  });

  it('refuses a Packages index cut short with DIGEST_MISMATCH, naming both sizes', async () => {
    Object.assign(plan, { inRelease: 'as-is', packages: 'half' });
    const fetcher = new HttpFetcher();
    const release = await fetchSuiteRelease(source, { fetcher });
    const listed = release.release.sha256.get('main/binary-amd64/Packages');
    assert.ok(listed);

    await refused(loadSuiteIndex(release, { architecture: 'amd64', fetcher }), {
      code: 'DIGEST_MISMATCH',
      message: new RegExp(
        `Packages: got sha256:[0-9a-f]{64} \\(${listed.size >> 1} bytes\\), Release says sha256:${listed.sha256} \\(${listed.size} bytes\\)`,
      ),
    });
  });

  it('fails with FETCH_TIMEOUT, naming the index, when the mirror stops sending a Packages index halfway', async () => {
    Object.assign(plan, { inRelease: 'as-is', packages: 'stall-halfway' });
    // Only the index's fetch has a short stall timeout: on a loaded machine InRelease may take longer.
    const release = await fetchSuiteRelease(source, { fetcher: new HttpFetcher() });
    const fetcher = new HttpFetcher({ stallTimeoutMs: 300 });

    await refused(loadSuiteIndex(release, { architecture: 'amd64', fetcher }), {
      code: 'FETCH_TIMEOUT',
      message:
        /dists\/stable\/main\/binary-amd64\/Packages: the mirror (sent nothing for|gave no answer within) 0.3 s/,
    });
  });
});
