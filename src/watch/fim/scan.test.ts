/**
 * The walk and the file pool on a real temp tree: the order the baseline relies on, names that are
 * not UTF-8, links never followed, FIFOs never blocked on, and entries that vanish mid-walk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { entryOf, WorkerFilePool } from './file-pool.js';
import { comparePaths, type FimEntry } from './fim-entry.js';
import { scanTree } from './scan.js';
import { walkNames } from './walk.js';

const scratch = mkdtempSync(join(tmpdir(), 'herd-scan-'));

async function scanned(root: string, pool: WorkerFilePool): Promise<FimEntry[]> {
  const entries: FimEntry[] = [];
  for await (const batch of scanTree(root, pool, { crossMounts: false, hash: true }))
    entries.push(...batch.entries.map(entryOf));
  return entries;
}

describe('walkNames and scanTree', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('names every entry once, in comparePaths order, a subtree before its next sibling', () => {
    const root = join(scratch, 'order');
    for (const dir of ['a/b', 'a-c', 'ab']) mkdirSync(join(root, dir), { recursive: true });
    for (const file of ['a/b/c', 'a.b', 'a-c/d', 'z']) writeFileSync(join(root, file), '');

    const paths = [...walkNames(root)].map((n) => n.path);

    assert.deepEqual(paths, ['/', '/a', '/a/b', '/a/b/c', '/a-c', '/a-c/d', '/a.b', '/ab', '/z']);
    assert.deepEqual([...paths].sort(comparePaths), paths);
  });

  it('spells a name that is not UTF-8 as \\xNN and still reads and hashes the file by its bytes', async () => {
    const root = join(scratch, 'bytes');
    mkdirSync(root);
    const name = Buffer.from([0x6f, 0xff, 0x6b]);
    writeFileSync(Buffer.concat([Buffer.from(`${root}/`), name]), 'abc');
    writeFileSync(join(root, 'back\\slash'), '');
    const pool = new WorkerFilePool({ workers: 1 });

    const entries = await scanned(root, pool).finally(() => pool.close());

    const odd = entries.find((e) => e.path === '/o\\xffk');
    assert.equal(odd?.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.ok(entries.some((e) => e.path === '/back\\\\slash'));
  });

  it('records a link to a directory as a link with its target, and never walks through it', async () => {
    const root = join(scratch, 'links');
    mkdirSync(join(root, 'real'), { recursive: true });
    writeFileSync(join(root, 'real', 'file'), '');
    symlinkSync('real', join(root, 'via'));
    const pool = new WorkerFilePool({ workers: 1 });

    const entries = await scanned(root, pool).finally(() => pool.close());

    const via = entries.find((e) => e.path === '/via');
    assert.equal(via?.type, 'symlink');
    assert.equal(via?.target, 'real');
    assert.ok(!entries.some((e) => e.path.startsWith('/via/')));
  });

  it('describes a FIFO without blocking on it, and hashes no such entry', async () => {
    const root = join(scratch, 'fifo');
    mkdirSync(root);
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const pool = new WorkerFilePool({ workers: 1 });

    const entries = await scanned(root, pool).finally(() => pool.close());

    const pipe = entries.find((e) => e.path === '/pipe');
    assert.equal(pipe?.type, 'fifo');
    assert.equal(pipe?.sha256, undefined);
  });

  it('leaves out an entry that vanished between the walk and its lstat', async () => {
    const root = join(scratch, 'vanish');
    mkdirSync(root);
    writeFileSync(join(root, 'kept'), '');
    const pool = new WorkerFilePool({ workers: 1 });

    const { entries } = await pool
      .describe(
        [
          { path: '/gone', fsPath: join(root, 'gone') },
          { path: '/kept', fsPath: join(root, 'kept') },
        ],
        { hash: false },
      )
      .finally(() => pool.close());

    assert.deepEqual(
      entries.map((e) => e.path),
      ['/kept'],
    );
  });
});
