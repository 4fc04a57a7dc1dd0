import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeStaleTempFiles, tempFileWriter } from './stale-temp-files.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-stale-temp-'));
  dirs.push(dir);
  return dir;
}

describe('tempFileWriter', () => {
  it('reads the pid from the temp names herd writes, and nothing else', () => {
    assert.equal(tempFileWriter('herd.lock.tmp-4242-0a1b2c3d'), 4242);
    assert.equal(tempFileWriter('.incoming-17-00ff00ff00ff'), 17);
    assert.equal(tempFileWriter('baseline.json.tmp-99'), 99);
    for (const name of [
      'abc123.data.tar',
      'abc.igzip-2.30.0-level-3',
      '.tmp-12-ab', // no name before .tmp
      'x.tmp-0-ab', // no pid 0
      'x.tmp-12-XY', // not hex
      'x.tmp-12-ab.deb', // something after the temp suffix: not a temp file of herd's
      'x.tmp-',
      'x.tmp-12345678901-ab', // longer than any pid
    ]) {
      assert.equal(tempFileWriter(name), undefined, name);
    }
  });
});

describe('removeStaleTempFiles', () => {
  it("removes dead processes' temp files and keeps live ones', other files, folders and links", async () => {
    const dir = await scratch();
    const outside = await scratch();
    await writeFile(join(outside, 'target'), 'not herd’s');
    await writeFile(join(dir, 'a.deb.tmp-100-aa'), 'half a .deb');
    await writeFile(join(dir, '.incoming-100-bb'), 'half a layer');
    await writeFile(join(dir, 'b.deb.tmp-200-cc'), 'a live writer’s');
    await writeFile(join(dir, 'b.deb'), 'a whole .deb');
    await mkdir(join(dir, 'c.tmp-100-dd'));
    await symlink(join(outside, 'target'), join(dir, 'd.tmp-100-ee'));

    const removed = await removeStaleTempFiles([dir, join(dir, 'missing')], {
      isAlive: (pid) => pid === 200,
    });

    assert.deepEqual(removed.sort(), [join(dir, '.incoming-100-bb'), join(dir, 'a.deb.tmp-100-aa')]);
    assert.deepEqual((await readdir(dir)).sort(), [
      'b.deb',
      'b.deb.tmp-200-cc',
      'c.tmp-100-dd',
      'd.tmp-100-ee',
    ]);
    assert.deepEqual(await readdir(outside), ['target']);
  });

  it('takes only names with the prefix asked for, in a folder shared with others', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'baseline.tmp-100'), 'a killed herd fim init');
    await writeFile(join(dir, 'baseline.tmp-100-ab'), 'a killed herd fim init');
    await writeFile(join(dir, 'other.tmp-100-ab'), 'some other program’s');

    const removed = await removeStaleTempFiles([dir], { namePrefix: 'baseline.tmp-', isAlive: () => false });

    assert.deepEqual(removed.sort(), [join(dir, 'baseline.tmp-100'), join(dir, 'baseline.tmp-100-ab')]);
    assert.deepEqual(await readdir(dir), ['other.tmp-100-ab']);
  });

  it('removes the temp file of a writer killed with SIGKILL mid-write, and not of one still writing', async () => {
    const dir = await scratch();
    // A child writing through writeChunksAtomic that never finishes: killed, its temp file stays.
    const writer = (name: string) =>
      spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import { writeChunksAtomic } from ${JSON.stringify(join(import.meta.dirname, 'atomic-file.ts'))};
           await writeChunksAtomic(${JSON.stringify(join(dir, name))}, (async function* () {
             yield Buffer.from('part');
             console.log('writing');
             await new Promise(() => setInterval(() => {}, 1000));
           })());`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
    const killed = writer('killed.json');
    const alive = writer('alive.json');
    await Promise.all([once(killed.stdout, 'data'), once(alive.stdout, 'data')]);
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    try {
      const before = await readdir(dir);
      assert.equal(before.length, 2, `temp files: ${before.join(', ')}`);

      const removed = await removeStaleTempFiles([dir]);

      assert.equal(removed.length, 1);
      assert.equal(tempFileWriter(removed[0]!.slice(dir.length + 1)), killed.pid);
      assert.deepEqual(
        (await readdir(dir)).map((name) => tempFileWriter(name)),
        [alive.pid],
      );
    } finally {
      alive.kill('SIGKILL');
    }
  });
});
