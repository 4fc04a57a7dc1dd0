import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LayoutStore } from './layout-store.js';
import { withStoreLock } from './store-lock.js';

describe('the store write lock', () => {
  it('keeps every referrer when many are added at once', async () => {
    const store = new LayoutStore(await mkdtemp(join(tmpdir(), 'herd-lock-')));
    await store.init();
    const subject = `sha256:${'a'.repeat(64)}` as const;
    const descriptors = Array.from({ length: 40 }, (_, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${i.toString(16).padStart(64, '0')}` as const,
      size: 1,
    }));

    await Promise.all(descriptors.map((d) => store.addReferrer(subject, d)));

    assert.equal((await store.referrers(subject)).length, descriptors.length);
  });

  it('takes over a lock its writer left behind, and times out on a live one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herd-lock-'));
    const lock = join(dir, '.write-lock');
    await writeFile(lock, '1\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);

    assert.equal(await withStoreLock(lock, async () => 'ran'), 'ran');

    await writeFile(lock, '1\n');
    await assert.rejects(
      withStoreLock(lock, async () => 'ran', { timeoutMs: 50 }),
      { code: 'STORE_LOCKED' },
    );
  });

  it('takes over at once a fresh lock whose writer was killed, but not one whose writer runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herd-lock-'));
    const lock = join(dir, '.write-lock');
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await writeFile(lock, `${child.stdout}\n`);
    assert.equal(await withStoreLock(lock, async () => 'ran', { timeoutMs: 50 }), 'ran');

    // pid 1 is always running: a live holder is waited for, as before.
    await writeFile(lock, '1\n');
    await assert.rejects(
      withStoreLock(lock, async () => 'ran', { timeoutMs: 50 }),
      { code: 'STORE_LOCKED' },
    );
  });
});
