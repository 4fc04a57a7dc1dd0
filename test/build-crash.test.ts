/**
 * A build of examples/hello killed with SIGKILL while it writes a layer into the store, through the
 * real CLI against the Debian archive configured on this host. The kill leaves temp files behind
 * (nothing can remove them as it dies) and no igzip outlives it; the next build removes what it
 * left and makes the same image as a build that was never interrupted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempFileWriter } from '../src/common/stale-temp-files.js';
import { freshHome } from './support/build-harness.js';
import { childPidsNamed, isAlive } from './support/child-processes.js';
import { projectRoot, runHerd } from './support/cli.js';
import { startHerd } from './support/herd-process.js';

/** Where a build writes through temp files: the store's blobs and the three caches. */
const tempDirs = (home: string) => [
  join(home, 'store', 'blobs', 'sha256'),
  join(home, 'cache', 'debs', 'sha256'),
  join(home, 'cache', 'unpacked'),
  join(home, 'cache', 'layers'),
];

async function tempFiles(home: string): Promise<{ name: string; pid: number }[]> {
  const found: { name: string; pid: number }[] = [];
  for (const dir of tempDirs(home)) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = tempFileWriter(name);
      if (pid !== undefined) found.push({ name, pid });
    }
  }
  return found;
}

function digestIn(stdout: string): string {
  const match = /digest\s+(sha256:[0-9a-f]{64})/.exec(stdout);
  assert.ok(match, `no digest in:\n${stdout}`);
  return match[1]!;
}

describe('a build killed with SIGKILL while it writes a layer', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('leaves temp files and no igzip; the next build removes them and gives the uninterrupted digest', async () => {
    const spec = await mkdtemp(join(tmpdir(), 'herd-crash-spec-'));
    const home = await freshHome('herd-crash-home-');
    const clean = await freshHome('herd-crash-clean-');
    dirs.push(spec, home, clean);
    await cp(join(projectRoot, 'examples/hello'), spec, { recursive: true });

    const build = startHerd(['build', '--no-gate', spec], home);
    const pid = build.child.pid!;
    const exited = once(build.child, 'exit');
    // Killed as soon as a layer is being written into the store, with its igzip running.
    let igzips: number[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      assert.equal(build.child.exitCode, null, `the build ended before it was killed:\n${build.output()}`);
      assert.ok(Date.now() < deadline, `no layer was being written within 2 minutes:\n${build.output()}`);
      const incoming = (await tempFiles(home)).some((file) => file.name.startsWith('.incoming-'));
      igzips = childPidsNamed(pid, 'igzip');
      if (incoming && igzips.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    build.child.kill('SIGKILL');
    await exited;

    const left = await tempFiles(home);
    assert.ok(left.length > 0, 'the killed build left no temp file: the test proves nothing');
    assert.ok(left.every((file) => file.pid === pid));
    // igzip sees its input end and its output closed: it goes with the build.
    const gone = Date.now() + 5_000;
    while (igzips.some(isAlive) && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(igzips.filter(isAlive), [], 'igzip outlived the build that started it');

    const again = runHerd(['build', '--no-gate', spec], { home });
    assert.equal(again.status, 0, again.err);
    assert.match(
      `${again.out}${again.err}`,
      new RegExp(`removed ${left.length} temp files a killed herd left`),
    );
    assert.deepEqual(await tempFiles(home), []);

    const uninterrupted = runHerd(['build', '--no-gate', spec], { home: clean });
    assert.equal(uninterrupted.status, 0, uninterrupted.err);
    assert.equal(digestIn(again.out), digestIn(uninterrupted.out));
  });
});
