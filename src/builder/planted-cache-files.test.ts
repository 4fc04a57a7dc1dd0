/**
 * The build's other readers of HERD_HOME against whoever can write it: the resolution memo and the
 * stored bytes of package files (a range of an unpacked data.tar). Something other than a file
 * planted in place of one is never read: no entry for the memo, CACHE_TAMPERED for file bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { plant, plantedKinds } from '../../test/fixtures/planted-files.js';
import { ArchiveDates } from './archive-dates.js';
import { fileBytes, fileChunks } from './file-content.js';
import { ResolutionMemo, type ResolvedPackages } from './resolution-memo.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-builder-planted-'));
  dirs.push(dir);
  return dir;
}

function quickly(started: number): void {
  const took = performance.now() - started;
  assert.ok(took < 3000, `took ${Math.round(took)} ms`);
}

describe('the resolution memo, with something other than a file planted at an entry', {
  timeout: 20_000,
}, () => {
  const resolved: ResolvedPackages = { packages: [], held: [] };

  for (const kind of plantedKinds) {
    it(`takes ${kind} for no entry, and puts a sealed one over it`, async () => {
      const dir = await workDir();
      const memo = await ResolutionMemo.open({
        dir: join(dir, 'resolutions'),
        sealKey: join(dir, 'seal.key'),
      });
      const key = 'a'.repeat(64);
      await mkdir(memo.dir, { recursive: true });
      const remove = await plant(memo.pathOf(key), kind);

      const started = performance.now();
      const found = await memo.get(key);
      quickly(started);
      await memo.put(key, resolved);
      const again = await memo.get(key);
      await remove();

      assert.equal(found, undefined);
      assert.deepEqual(again, resolved);
    });
  }
});

describe("a package file's stored bytes, with something other than a file in place of its tar", {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`refuses ${kind} with CACHE_TAMPERED naming the file and the tar, without reading it`, async () => {
      const dir = await workDir();
      const tar = join(dir, 'fixture.data.tar');
      const bytes = Buffer.from('#!/bin/sh\necho ok\n');
      const node = {
        path: 'usr/bin/tool',
        stored: {
          file: tar,
          offset: 0,
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        },
      };
      await writeFile(tar, bytes);
      assert.deepEqual(fileBytes(node), bytes);
      await rm(tar);
      const remove = await plant(tar, kind);

      const started = performance.now();
      const refusals = [
        (() => {
          try {
            fileBytes(node);
            return undefined;
          } catch (error) {
            return error;
          }
        })(),
        await (async () => {
          try {
            for await (const _ of fileChunks(node));
            return undefined;
          } catch (error) {
            return error;
          }
        })(),
      ];
      quickly(started);
      await remove();

      for (const error of refusals) {
        assert.equal((error as { code?: string }).code, 'CACHE_TAMPERED', String(error));
        assert.match(
          (error as Error).message,
          new RegExp(`^/usr/bin/tool: ${tar}, which holds its bytes, cannot be read`),
        );
      }
    });
  }
});

describe('HERD_HOME archive dates, with something other than a file in their place', {
  timeout: 20_000,
}, () => {
  for (const kind of plantedKinds) {
    it(`refuses ${kind} with ARCHIVE_DATES_INVALID naming the path, never reading it as no dates`, async () => {
      const dir = await workDir();
      const dates = new ArchiveDates(join(dir, 'archive-dates.json'));
      const remove = await plant(dates.path, kind);

      const started = performance.now();
      const results = await Promise.allSettled([
        dates.read(),
        dates.record([{ repository: 'http://mirror.example/debian/', suite: 'bookworm', date: new Date() }]),
      ]);
      quickly(started);
      await remove();

      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const error = result.status === 'rejected' ? result.reason : undefined;
        assert.equal(error.code, 'ARCHIVE_DATES_INVALID');
        assert.match(error.message, new RegExp(`^${dates.path}: it is ${kind}, not a regular file`));
      }
    });
  }
});
