import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, symlinkSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deviceNumber, listFromHost, mountAt, walkMount } from './host-path-listing.js';

describe('mountAt', () => {
  const mountinfo = [
    '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '125 22 0:57 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=65536k',
    '126 22 0:58 / /var/cache\\040app rw,relatime shared:4 - tmpfs tmpfs rw',
    '127 125 0:59 / /tmp rw,relatime - tmpfs tmpfs rw,size=1024k',
  ].join('\n');

  it('finds the mount at a path, the last one when several are stacked there', () => {
    assert.deepEqual(mountAt(mountinfo, '/tmp'), { major: 0, minor: 59, fstype: 'tmpfs' });
  });

  it('reads escaped mount points and skips optional fields', () => {
    assert.deepEqual(mountAt(mountinfo, '/var/cache app'), { major: 0, minor: 58, fstype: 'tmpfs' });
  });

  it('finds nothing at a path that is only inside a mount', () => {
    assert.equal(mountAt(mountinfo, '/tmp/x'), undefined);
    assert.equal(mountAt(mountinfo, '/var/cache'), undefined);
  });

  it("encodes a device number as lstat reports it, on this host's own /dev/shm", async () => {
    const mount = mountAt(await readFile('/proc/self/mountinfo', 'utf8'), '/dev/shm');
    assert.ok(mount, 'this host has /dev/shm mounted');

    assert.equal(deviceNumber(mount), (await lstat('/dev/shm')).dev);
  });
});

describe('walkMount', () => {
  let base: string;
  let dev: number;

  /** A tmpfs at `dir`, as the engine mounts one in an instance: a device of its own. */
  function mountTmpfs(dir: string) {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, `mount a tmpfs at ${dir} for the test (needs root): ${mounted.stderr}`);
  }

  before(async () => {
    // `base` stands for the instance's root as the host sees it (/proc/<pid>/root).
    base = await mkdtemp(join(tmpdir(), 'herd-walk-'));
    await mkdir(join(base, 'tmp'));
    mountTmpfs(join(base, 'tmp'));
    await mkdir(join(base, 'tmp/cache/deep'), { recursive: true });
    await writeFile(join(base, 'tmp/data'), Buffer.alloc(1000));
    await writeFile(join(base, 'tmp/cache/deep/miner'), '#!/bin/sh\n');
    await chmod(join(base, 'tmp/cache/deep/miner'), 0o755);
    // The instance's files are hostile: a link to the host's /etc must not lead the walk there.
    await symlink('/etc', join(base, 'tmp/etc'));
    await mkdir(join(base, 'tmp/mounted'));
    mountTmpfs(join(base, 'tmp/mounted'));
    await writeFile(join(base, 'tmp/mounted/elsewhere'), 'x');
    // An image whose /var is an absolute link: through the host's path it leads to the host's /.
    await symlink('/', join(base, 'var'));
    dev = (await lstat(join(base, 'tmp'))).dev;
  });

  after(async () => {
    spawnSync('umount', [join(base, 'tmp/mounted')]);
    spawnSync('umount', [join(base, 'tmp')]);
    await rm(base, { recursive: true, force: true });
  });

  it('lists every entry under the path with its metadata, as the instance names it', async () => {
    const entries = await walkMount(base, '/tmp', { dev });

    assert.ok(entries);
    const byPath = new Map(entries.map((entry) => [entry.path, entry]));
    assert.deepEqual([...byPath.keys()].sort(), [
      '/tmp',
      '/tmp/cache',
      '/tmp/cache/deep',
      '/tmp/cache/deep/miner',
      '/tmp/data',
      '/tmp/etc',
    ]);
    const miner = byPath.get('/tmp/cache/deep/miner');
    assert.equal(miner?.type, 'file');
    assert.equal(miner.mode, 0o755);
    assert.equal(miner.size, 10);
    assert.ok(miner.ino && miner.ctimeMs && miner.mtimeMs);
    assert.equal(byPath.get('/tmp/data')?.size, 1000);
  });

  it('follows no symlink and stays on the mount: a link to /etc and a mount inside are not entered', async () => {
    const entries = (await walkMount(base, '/tmp', { dev })) ?? [];

    assert.equal(entries.find((entry) => entry.path === '/tmp/etc')?.type, 'symlink');
    assert.ok(!entries.some((entry) => entry.path.startsWith('/tmp/etc/')), 'nothing of the host /etc');
    assert.ok(!entries.some((entry) => entry.path === '/tmp/mounted/elsewhere'), 'nothing of another device');
    // The mount point itself is the other device's root, so it is left out as well as its files.
    assert.equal(
      entries.find((entry) => entry.path === '/tmp/mounted'),
      undefined,
    );
  });

  it('refuses a path that is not a directory on the expected device', async () => {
    assert.equal(await walkMount(base, '/tmp', { dev: dev + 1 }), undefined);
    assert.equal(await walkMount(base, '/tmp/data', { dev }), undefined);
    assert.equal(await walkMount(base, '/tmp/etc', { dev }), undefined);
    assert.equal(await walkMount(base, '/nothing', { dev }), undefined);
  });

  it("is not led onto the host's files by a link on the way to the path", async () => {
    // base/var/tmp is the host's /tmp: a directory, but not on the instance's mount.
    assert.equal(await walkMount(base, '/var/tmp', { dev }), undefined);
  });

  it("is not led onto the host's files by directories swapped for links to / while the walk waits its turn", async () => {
    // The race an intruder can run: a directory is listed as one, then, before the walk reads it,
    // becomes a link to /, which the host resolves as the host's own root.
    const racing = await mkdtemp(join(tmpdir(), 'herd-walk-race-'));
    await mkdir(join(racing, 'tmp'));
    mountTmpfs(join(racing, 'tmp'));
    try {
      const names = Array.from({ length: 300 }, (_, index) => `d${index}`);
      for (const name of names) mkdirSync(join(racing, 'tmp', name));
      const racingDev = (await lstat(join(racing, 'tmp'))).dev;
      // Queued before the walk's first turn of the event loop (after 128 calls): runs in it.
      setImmediate(() => {
        for (const name of names) {
          renameSync(join(racing, 'tmp', name), join(racing, 'tmp', `${name}-was`));
          symlinkSync('/', join(racing, 'tmp', name));
        }
      });

      const entries = (await walkMount(racing, '/tmp', { dev: racingDev })) ?? [];

      const swapped = entries.filter((entry) => /^\/tmp\/d\d+$/.test(entry.path) && entry.type === 'dir');
      assert.ok(swapped.length > 0, 'some directories were listed as directories before the swap');
      const hostNames = new Set(readdirSync('/'));
      const leaked = entries.filter((entry) => {
        const [, , first, second] = entry.path.split('/');
        return /^d\d+$/.test(first ?? '') && hostNames.has(second ?? '');
      });
      assert.deepEqual(
        leaked.map((entry) => entry.path),
        [],
        "nothing of the host's / is listed",
      );
    } finally {
      spawnSync('umount', [join(racing, 'tmp')]);
      await rm(racing, { recursive: true, force: true });
    }
  });

  it('stops one entry past the limit, so the caller can tell it was exceeded', async () => {
    const entries = await walkMount(base, '/tmp', { dev, maxEntries: 3 });

    assert.equal(entries?.length, 4);
  });
});

describe('listFromHost', () => {
  it('will not list through a process that is not in the instance', async () => {
    const listing = await listFromHost({ pid: process.pid, id: 'f'.repeat(64) }, '/tmp');

    assert.equal(listing.kind, 'not-this-host');
  });

  it('will not list through a process that does not exist on this host', async () => {
    const listing = await listFromHost({ pid: 2 ** 30, id: 'f'.repeat(64) }, '/tmp');

    assert.equal(listing.kind, 'not-this-host');
  });
});
