/**
 * The .deb caches against whoever can write HERD_HOME (something other than a file planted at an
 * entry) and against a hostile mirror (endless, short or stalled .deb downloads).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildDeb, fileEntry } from '../../test/fixtures/deb-builder.js';
import { plant, plantedKinds } from '../../test/fixtures/planted-files.js';
import { HttpFetcher } from '../debian/index.js';
import { DebCache, UnpackedDebCache } from './deb-cache.js';
import type { LockedPackage } from './lock-file.js';

const dirs: string[] = [];
const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function fixture() {
  const home = await mkdtemp(join(tmpdir(), 'herd-deb-hostile-'));
  dirs.push(home);
  const deb = await buildDeb({ files: [fileEntry('./usr/bin/tool', '#!/bin/sh\necho ok\n', 0o755)] });
  const pkg: LockedPackage = {
    name: 'fixture',
    version: '1.0',
    architecture: 'amd64',
    source: 'fixture',
    sourceVersion: '1.0',
    suite: 'test',
    filename: 'pool/main/f/fixture/fixture_1.0_amd64.deb',
    size: deb.length,
    sha256: createHash('sha256').update(deb).digest('hex'),
    reason: 'requested',
  };
  return { home, deb, pkg, debs: new DebCache(join(home, 'cache', 'debs')) };
}

/** A loopback mirror answering every request with `handler`; its URI as a source's. */
async function mirror(handler: RequestListener) {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return [
    {
      uri,
      suite: 'test',
      components: ['main'],
      keyring: { kind: 'files' as const, paths: [] },
      origin: 'test',
    },
  ];
}

describe('the .deb cache, with something other than a file planted at an entry', { timeout: 20_000 }, () => {
  for (const kind of plantedKinds) {
    it(`refuses ${kind} as a tampered .deb, naming the path, without reading it`, async () => {
      const { pkg, debs } = await fixture();
      const path = debs.pathOf(pkg.sha256);
      await mkdir(join(debs.dir, 'sha256'), { recursive: true });
      const remove = await plant(path, kind);

      const started = performance.now();
      const refusals = await Promise.allSettled([debs.get(pkg), debs.verify(pkg)]);
      const took = performance.now() - started;
      await remove();

      for (const refusal of refusals) {
        assert.equal(refusal.status, 'rejected');
        const reason = refusal.status === 'rejected' ? refusal.reason : undefined;
        assert.equal(reason.code, 'DEB_MISMATCH');
        assert.equal(
          reason.message,
          `cached fixture_1.0.deb at ${path} is tampered: it is ${kind}, not a regular file, ` +
            `herd.lock says sha256:${pkg.sha256}; delete the file to fetch it again`,
        );
      }
      assert.ok(took < 3000, `took ${Math.round(took)} ms`);
    });
  }

  it('refuses a regular file of another size than the lock says without reading it', async () => {
    const { pkg, debs } = await fixture();
    await mkdir(join(debs.dir, 'sha256'), { recursive: true });
    await writeFile(debs.pathOf(pkg.sha256), Buffer.alloc(pkg.size + 1));

    await assert.rejects(debs.get(pkg), {
      code: 'DEB_MISMATCH',
      message: new RegExp(`is tampered: got ${pkg.size + 1} bytes, herd.lock says ${pkg.size}`),
    });
  });
});

describe('the unpacked .deb cache, with something other than a file planted at an entry', {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`takes ${kind} in place of a record or a tar for an untrusted entry, and unpacks over it`, async () => {
      const { home, deb, pkg } = await fixture();
      const open = () =>
        new UnpackedDebCache(join(home, 'cache', 'unpacked'), { sealKey: join(home, 'keys', 'seal') });
      await open().unpack(pkg, deb, { name: 'fixture.deb' });
      const base = join(home, 'cache', 'unpacked', pkg.sha256);

      for (const [suffix, what] of [
        ['.json', 'record'],
        ['.control.tar', 'control.tar'],
        ['.data.tar', 'data.tar'],
      ] as const) {
        await rm(`${base}${suffix}`);
        const remove = await plant(`${base}${suffix}`, kind);

        const started = performance.now();
        const lookup = await open().get(pkg, { name: 'fixture.deb' });
        const took = performance.now() - started;
        await open().unpack(pkg, deb, { name: 'fixture.deb' });
        const again = await open().get(pkg, { name: 'fixture.deb' });
        await remove();

        assert.deepEqual(lookup, { kind: 'untrusted', reason: `its ${what} is ${kind}, not a regular file` });
        assert.ok(took < 3000, `took ${Math.round(took)} ms`);
        assert.equal(again.kind, 'hit', `${suffix} after unpacking again`);
      }
    });
  }
});

describe('a .deb from a hostile mirror', { timeout: 20_000 }, () => {
  it('is cut at its locked size when the mirror sends endless data, and nothing is cached', async () => {
    const { deb, pkg, debs } = await fixture();
    let sent = 0;
    const sources = await mirror((_request, response) => {
      response.writeHead(200);
      response.write(deb);
      const zeros = Buffer.alloc(64 * 1024);
      const more = () => {
        while (!response.destroyed && sent < 1024 ** 3) {
          sent += zeros.length;
          if (!response.write(zeros)) return void response.once('drain', more);
        }
      };
      more();
    });

    await assert.rejects(debs.fetch(pkg, { fetcher: new HttpFetcher(), sources }), {
      code: 'DEB_MISMATCH',
      message: new RegExp(
        `${pkg.filename} does not match herd.lock: it is larger than the ${pkg.size}-byte limit, ` +
          `expected sha256:${pkg.sha256}`,
      ),
    });
    assert.ok(sent < 64 * 1024 ** 2, `the mirror got to send ${sent} bytes`);
    assert.deepEqual(await readdir(join(debs.dir, 'sha256')).catch(() => []), []);
  });

  it('is refused when the mirror ends it short, naming both sizes, and nothing is cached', async () => {
    const { deb, pkg, debs } = await fixture();
    const sources = await mirror((_request, response) => {
      response.end(deb.subarray(0, 100));
    });

    await assert.rejects(debs.fetch(pkg, { fetcher: new HttpFetcher(), sources }), {
      code: 'DEB_MISMATCH',
      message: new RegExp(
        `got sha256:[0-9a-f]{64} \\(100 bytes\\), expected sha256:${pkg.sha256} \\(${pkg.size} bytes\\)`,
      ),
    });
    assert.deepEqual(await readdir(join(debs.dir, 'sha256')).catch(() => []), []);
  });

  it('fails with FETCH_TIMEOUT when the mirror stops halfway, and nothing is cached', async () => {
    const { deb, pkg, debs } = await fixture();
    const sources = await mirror((_request, response) => {
      response.writeHead(200, { 'content-length': String(deb.length) });
      response.write(deb.subarray(0, 100));
    });
    const started = performance.now();

    await assert.rejects(debs.fetch(pkg, { fetcher: new HttpFetcher({ stallTimeoutMs: 300 }), sources }), {
      code: 'FETCH_TIMEOUT',
      message: new RegExp(
        `${pkg.filename}: the mirror (sent nothing for 0.3 s \\(after 100 bytes\\)|gave no answer within 0.3 s)`,
      ),
    });
    assert.ok(performance.now() - started < 3000);
    assert.deepEqual(await readdir(join(debs.dir, 'sha256')).catch(() => []), []);
  });
});

describe('a .deb fetched into the cache', { timeout: 20_000 }, () => {
  it('is streamed to its entry, and read through the handle it was verified with, not the path', async () => {
    const { home, deb, pkg, debs } = await fixture();
    const sources = await mirror((_request, response) => {
      response.end(deb);
    });

    const fetched = await debs.fetch(pkg, { fetcher: new HttpFetcher(), sources });
    try {
      assert.deepEqual(await readdir(join(debs.dir, 'sha256')), [pkg.sha256]);
      // Someone with write access to the cache swaps the entry once it was checked.
      const forged = await buildDeb({
        files: [fileEntry('./usr/bin/tool', '#!/bin/sh\necho forged\n', 0o755)],
      });
      await writeFile(`${debs.pathOf(pkg.sha256)}.forged`, forged);
      await rename(`${debs.pathOf(pkg.sha256)}.forged`, debs.pathOf(pkg.sha256));

      const unpacked = await new UnpackedDebCache(join(home, 'cache', 'unpacked'), {
        sealKey: join(home, 'keys', 'seal'),
      }).unpack(pkg, fetched, { name: 'fixture.deb' });
      const tool = unpacked.files.find((file) => file.path === 'usr/bin/tool');
      assert.equal(tool?.sha256, createHash('sha256').update('#!/bin/sh\necho ok\n').digest('hex'));
    } finally {
      await fetched.file.close();
    }
    // And the next fetch, from the cache, refuses the swapped file.
    await assert.rejects(debs.fetch(pkg, { fetcher: new HttpFetcher(), sources }), {
      code: 'DEB_MISMATCH',
      message: /is tampered: got sha256:/,
    });
  });
});
