import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { plant, plantedKinds } from '../../test/fixtures/planted-files.js';
import { sha256Hex } from '../common/index.js';
import { PackagesIndexCache } from './index-cache.js';

const index = Buffer.from('Package: tiny\nVersion: 1.0\nArchitecture: all\n');
const expected = { sha256: sha256Hex(index), size: index.length };

describe('the Packages index cache, with something other than a file planted at an entry', {
  timeout: 20_000,
}, () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  for (const kind of plantedKinds) {
    it(`does not read ${kind}, reports it untrusted naming the path, and replaces it with the download`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'herd-index-planted-'));
      dirs.push(dir);
      const cache = new PackagesIndexCache(dir);
      const path = cache.pathOf(expected.sha256);
      await mkdir(join(dir, 'sha256'));
      const remove = await plant(path, kind);
      const given: Buffer[] = [];

      const started = performance.now();
      const lookup = await cache.read(expected, (chunk) => given.push(chunk));
      const took = performance.now() - started;
      const writer = await cache.writer(expected.sha256);
      writer.write(index);
      await writer.commit();
      const again: Buffer[] = [];
      const relookup = await cache.read(expected, (chunk) => again.push(chunk));
      await remove();

      assert.deepEqual(lookup, {
        kind: 'untrusted',
        reason: `cached package index ${path} is ${kind}, not a regular file`,
      });
      assert.equal(given.length, 0);
      assert.ok(took < 3000, `took ${Math.round(took)} ms`);
      assert.deepEqual(relookup, { kind: 'hit' });
      assert.deepEqual(Buffer.concat(again), index);
    });
  }
});
