import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deadProcess, holderOf, writeHolder } from './home.test-support.js';
import { homeLockPath, lockHome, readHomeLock } from './home-lock.js';
import { currentProcess } from './process-identity.js';

const freshRoot = async () => join(await mkdtemp(join(tmpdir(), 'herd-home-lock-')), 'home');

describe("HERD_HOME's lock", () => {
  it('refuses a second control plane, naming the running one by pid and URL', async () => {
    const home = { root: await freshRoot() };
    const first = await lockHome(home, { command: 'herd serve' });
    await first.advertise('http://127.0.0.1:5000');

    await assert.rejects(lockHome(home, { command: 'herd serve' }), (error: Error & { code: string }) => {
      assert.equal(error.code, 'HOME_IN_USE');
      assert.match(
        error.message,
        new RegExp(`in use by herd serve \\(pid ${process.pid}, http://127\\.0\\.0\\.1:5000,`),
      );
      return true;
    });
    assert.equal((await readHomeLock(home))?.nonce, first.holder.nonce);
    await first.release();
    const second = await lockHome(home, { command: 'herd up' });
    assert.equal((await readHomeLock(home))?.command, 'herd up');
    await second.release();
    assert.equal(await readHomeLock(home), undefined);
  });

  it('creates HERD_HOME 0700 and the lock 0600', async () => {
    const home = { root: await freshRoot() };

    const lock = await lockHome(home, { command: 'herd serve' });

    assert.equal((await stat(home.root)).mode & 0o777, 0o700);
    assert.equal((await stat(lock.path)).mode & 0o777, 0o600);
    await lock.release();
  });

  it('refuses a HERD_HOME another user made first, directly or through a link, and writes nothing in it', async () => {
    assert.equal(
      process.getuid?.(),
      0,
      'this test gives the home to another user (nobody), which needs root',
    );
    const root = await freshRoot();
    await mkdir(root, { mode: 0o777 });
    await chown(root, 65534, 65534);
    const link = `${root}-link`;
    await symlink(root, link);

    for (const home of [{ root }, { root: link }]) {
      await assert.rejects(lockHome(home, { command: 'herd serve' }), (error: Error & { code: string }) => {
        assert.equal(error.code, 'HOME_NOT_OWNED');
        assert.match(
          error.message,
          new RegExp(`HERD_HOME ${home.root} belongs to uid 65534, and herd runs as uid 0`),
        );
        return true;
      });
    }
    assert.deepEqual(await readdir(root), []);
  });

  it('takes over a lock left by a process that was killed with SIGKILL', async () => {
    const home = { root: await freshRoot() };
    await lockHome(home, { command: 'herd serve' }).then((lock) => lock.release());
    await writeHolder(homeLockPath(home), holderOf(await deadProcess(), { url: 'http://127.0.0.1:5000' }));

    const lock = await lockHome(home, { command: 'herd serve' });

    assert.equal((await readHomeLock(home))?.pid, process.pid);
    assert.deepEqual(await readdir(home.root), ['control-plane.lock']);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    const home = { root: await freshRoot() };
    await lockHome(home, { command: 'herd serve' }).then((lock) => lock.release());
    const me = currentProcess();
    await writeHolder(homeLockPath(home), holderOf({ ...me, startTime: '1' }));

    const lock = await lockHome(home, { command: 'herd serve' });

    assert.equal((await readHomeLock(home))?.nonce, lock.holder.nonce);
    await lock.release();
  });

  it('takes over a takeover that a dead process left half done, and clears what it left', async () => {
    const home = { root: await freshRoot() };
    await lockHome(home, { command: 'herd serve' }).then((lock) => lock.release());
    const stale = holderOf(await deadProcess());
    await writeHolder(homeLockPath(home), stale);
    await writeHolder(`${homeLockPath(home)}.takeover-${stale.nonce}`, holderOf(await deadProcess()));

    const lock = await lockHome(home, { command: 'herd serve' });

    assert.equal((await readHomeLock(home))?.nonce, lock.holder.nonce);
    assert.deepEqual(await readdir(home.root), ['control-plane.lock']);
    await lock.release();
  });

  it('lets exactly one of many starters in this process take a stale lock', async () => {
    const home = { root: await freshRoot() };
    await lockHome(home, { command: 'herd serve' }).then((lock) => lock.release());
    await writeHolder(homeLockPath(home), holderOf(await deadProcess()));

    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, () => lockHome(home, { command: 'herd serve' })),
    );

    const won = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
      assert.equal((lost.reason as { code: string }).code, 'HOME_IN_USE');
    }
    assert.equal((await readHomeLock(home))?.nonce, won[0]!.value.holder.nonce);
  });

  it('lets exactly one of several racing processes take a stale lock, round after round', async () => {
    const racer = join(import.meta.dirname, 'lock-racer.test-support.ts');
    for (let round = 0; round < 2; round++) {
      const home = { root: await freshRoot() };
      await lockHome(home, { command: 'herd serve' }).then((lock) => lock.release());
      await writeHolder(homeLockPath(home), holderOf(await deadProcess()));
      // Every racer waits for the same moment, after the slowest has (most likely) started.
      const startAt = Date.now() + 4_000;
      const release = join(home.root, '..', 'release');

      const racers = Array.from({ length: 4 }, () =>
        run(process.execPath, ['--import', 'tsx', racer, home.root, String(startAt), release]),
      );
      // The losers end at once; then the winner (one, or more if the lock is broken) may let go.
      const ended = () => racers.filter((one) => one.ended()).length;
      for (const deadline = Date.now() + 60_000; ended() < 3 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await writeFile(release, '');
      const outputs = await Promise.all(racers.map((one) => one.output));

      assert.deepEqual(
        outputs.map((o) => o.trim()).sort(),
        ['HOME_IN_USE', 'HOME_IN_USE', 'HOME_IN_USE', 'won'],
        `round ${round}: ${outputs.join(' | ')}`,
      );
    }
  });

  it('refuses a lock file herd did not write, naming the file', async () => {
    const home = { root: await freshRoot() };
    await lockHome(home, { command: 'herd serve' }).then((lock) => lock.release());

    await writeFile(homeLockPath(home), 'pid=12\n');
    await assert.rejects(lockHome(home, { command: 'herd serve' }), (error: Error & { code: string }) => {
      assert.equal(error.code, 'HOME_LOCK_INVALID');
      assert.ok(error.message.includes(homeLockPath(home)), error.message);
      return true;
    });
    await writeFile(homeLockPath(home), JSON.stringify({ ...holderOf(currentProcess()), nonce: '../../x' }));
    await assert.rejects(lockHome(home, { command: 'herd serve' }), (error: Error & { code: string }) => {
      assert.equal(error.code, 'HOME_LOCK_INVALID');
      assert.match(error.message, /field nonce/);
      return true;
    });
  });

  it('never removes or rewrites a lock that is no longer its own', async () => {
    const home = { root: await freshRoot() };
    const lock = await lockHome(home, { command: 'herd serve' });
    const other = holderOf({ pid: 1, host: hostname() });
    await writeHolder(homeLockPath(home), other);

    await assert.rejects(lock.advertise('http://127.0.0.1:1'), { code: 'HOME_LOCK_LOST' });
    await lock.release();

    assert.equal(JSON.parse(await readFile(homeLockPath(home), 'utf8')).nonce, other.nonce);
  });
});

function run(command: string, args: string[]): { output: Promise<string>; ended(): boolean } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let ended = false;
  const output = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', () => {
      ended = true;
      resolve(out);
    });
  });
  return { output, ended: () => ended };
}
