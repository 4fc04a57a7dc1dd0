/**
 * `herd fim` end to end: the real CLI on a temp tree, with a real cosign key. Each change is
 * planted on a fresh baseline; where the planted change would also move the parent directory's
 * mtime, the mtime is put back (touch -r) so that each exit bit is proven on its own.
 *
 * `herd fim check` always runs as the CLI. The fresh baselines the checks start from are written
 * in this process by initBaseline with the HERD_HOME's key, which is all `herd fim init` does; the
 * first and the last test write theirs with `herd fim init` itself, and check them clean.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyPairFiles, LocalKeySigner, readCosignPrivateKey } from '../src/trust/index.js';
import { initBaseline } from '../src/watch/index.js';
import { runHerd } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'herd-fim-'));
const home = join(scratch, 'home');
const tree = join(scratch, 'tree');
const stamp = join(scratch, 'stamp');
const baseline = join(scratch, 'tree.baseline');
const env = { HERD_KEY_PASSWORD: 'fim test password' };
const hasXattrTools = ['getfattr', 'setfattr'].every(
  (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0,
);

function herd(...args: string[]) {
  return runHerd(args, { home, env });
}

/** A fresh tree. */
function freshTree(): void {
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, 'etc', 'app'), { recursive: true });
  mkdirSync(join(tree, 'bin'));
  writeFileSync(join(tree, 'etc', 'app', 'config'), 'port=8080\n');
  writeFileSync(join(tree, 'etc', 'app', 'obsolete'), 'x\n');
  writeFileSync(join(tree, 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  symlinkSync('tool', join(tree, 'bin', 'current'));
}

/** The HERD_HOME's key, as `herd fim init` reads it; set once `herd keys generate` made it. */
let signer: LocalKeySigner;

/** A fresh tree and a fresh baseline of it, signed with the HERD_HOME's key as `herd fim init` signs. */
async function freshBaseline(): Promise<void> {
  freshTree();
  await initBaseline(tree, { output: baseline, signer });
}

/** Runs `change`, then gives `dir` back its mtime, so only the change itself shows. */
function keepingMtimeOf(dir: string, change: () => void): void {
  execFileSync('touch', ['-r', dir, stamp]);
  change();
  execFileSync('touch', ['-r', stamp, dir]);
}

function check(...extra: string[]) {
  return herd('fim', 'check', tree, '--baseline', baseline, ...extra);
}

describe('herd fim', () => {
  before(async () => {
    const keys = herd('keys', 'generate');
    assert.equal(keys.status, 0, keys.err);
    const key = keyPairFiles({ root: home }).privateKeyPath;
    signer = new LocalKeySigner(await readCosignPrivateKey(key, env.HERD_KEY_PASSWORD));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('checks an unchanged tree clean: exit 0, nothing reported', () => {
    freshTree();
    const init = herd('fim', 'init', tree, '--output', baseline);
    assert.equal(init.status, 0, init.err);

    const result = check();

    assert.equal(result.status, 0, result.err);
    assert.match(result.out, /0 added, 0 removed, 0 changed/);
    assert.doesNotMatch(result.out, /^(added|removed|changed) /m);
  });

  it('reports an added file with exit 1', async () => {
    await freshBaseline();
    keepingMtimeOf(join(tree, 'bin'), () =>
      writeFileSync(join(tree, 'bin', 'backdoor'), 'evil', { mode: 0o755 }),
    );

    const result = check();

    assert.equal(result.status, 1, result.out + result.err);
    assert.match(result.out, new RegExp(`^added +${tree}/bin/backdoor$`, 'm'));
  });

  it('reports a removed file with exit 2', async () => {
    await freshBaseline();
    keepingMtimeOf(join(tree, 'etc', 'app'), () => unlinkSync(join(tree, 'etc', 'app', 'obsolete')));

    const result = check();

    assert.equal(result.status, 2, result.out + result.err);
    assert.match(result.out, new RegExp(`^removed +${tree}/etc/app/obsolete$`, 'm'));
  });

  it('finds new content of the same size with its mtime put back, in the default fast mode too', async () => {
    await freshBaseline();
    const config = join(tree, 'etc', 'app', 'config');
    keepingMtimeOf(config, () => writeFileSync(config, 'port=6666\n'));

    for (const mode of [[], ['--full']]) {
      const result = check(...mode);

      assert.equal(result.status, 4, result.out + result.err);
      assert.match(result.out, new RegExp(`^changed +${config}: sha256 [0-9a-f]{12}…→[0-9a-f]{12}…$`, 'm'));
    }
  });

  it('reports a chmod as a changed mode', async () => {
    await freshBaseline();
    chmodSync(join(tree, 'bin', 'tool'), 0o4755);

    const result = check();

    assert.equal(result.status, 4, result.out + result.err);
    assert.match(result.out, new RegExp(`^changed +${tree}/bin/tool: mode 0755→4755$`, 'm'));
  });

  it('reports a retargeted symlink by its target', async () => {
    await freshBaseline();
    keepingMtimeOf(join(tree, 'bin'), () => {
      unlinkSync(join(tree, 'bin', 'current'));
      symlinkSync('/bin/sh', join(tree, 'bin', 'current'));
    });

    const result = check();

    assert.equal(result.status, 4, result.out + result.err);
    assert.match(result.out, new RegExp(`^changed +${tree}/bin/current: .*target tool→/bin/sh`, 'm'));
  });

  it('adds the bits together, and counts the parent directories whose mtime moved', async () => {
    await freshBaseline();
    writeFileSync(join(tree, 'bin', 'backdoor'), 'evil');
    unlinkSync(join(tree, 'etc', 'app', 'obsolete'));

    const result = check();

    assert.equal(result.status, 1 + 2 + 4, result.out + result.err);
    assert.match(result.out, new RegExp(`^changed +${tree}/bin: mtime`, 'm'));
    assert.match(result.out, /1 added, 1 removed, 2 changed/);
  });

  it('reports a changed xattr', async () => {
    assert.ok(
      hasXattrTools,
      'getfattr/setfattr are not installed: run scripts/setup.sh or apt-get install attr',
    );
    await freshBaseline();
    execFileSync('setfattr', ['-n', 'user.herd', '-v', 'planted', join(tree, 'bin', 'tool')]);

    const result = check();

    assert.equal(result.status, 4, result.out + result.err);
    assert.match(result.out, new RegExp(`^changed +${tree}/bin/tool: xattrs -→user.herd$`, 'm'));
  });

  it('refuses a baseline edited after signing: exit 18, never a pass', async () => {
    await freshBaseline();
    const text = readFileSync(baseline, 'utf8');
    writeFileSync(baseline, text.replace('"mode":420', '"mode":438'));

    const result = check();

    assert.equal(result.status, 18, result.out + result.err);
    assert.match(result.err, /changed after it was signed/);
  });

  it('refuses a baseline signed by a key this HERD_HOME does not trust', async () => {
    await freshBaseline();
    const otherHome = join(scratch, 'other-home');

    const result = runHerd(['fim', 'check', tree, '--baseline', baseline], { home: otherHome, env });

    assert.equal(result.status, 17, result.out + result.err);
    assert.match(result.err, /no key to verify the baseline/);
  });

  it('refuses a truncated baseline: exit 18', async () => {
    await freshBaseline();
    const bytes = readFileSync(baseline);
    writeFileSync(baseline, bytes.subarray(0, Math.floor(bytes.length / 2)));

    const result = check();

    assert.equal(result.status, 18, result.out + result.err);
    assert.match(result.err, /truncated/);
  });

  it('refuses a baseline of another directory, and a missing one, with AIDE’s error codes', async () => {
    await freshBaseline();

    const elsewhere = herd('fim', 'check', join(tree, 'bin'), '--baseline', baseline);
    const missing = herd('fim', 'check', tree, '--baseline', join(scratch, 'nope.baseline'));

    assert.equal(elsewhere.status, 15, elsewhere.err);
    assert.equal(missing.status, 18, missing.err);
  });

  it('writes the baseline under HERD_HOME/fim by default, named after the directory', () => {
    freshTree();

    const init = herd('fim', 'init', tree);
    const clean = herd('fim', 'check', tree);

    assert.equal(init.status, 0, init.err);
    assert.match(
      init.out,
      new RegExp(`baseline ${home}/fim/${tree.slice(1).replaceAll('/', '-')}\\.baseline`),
    );
    assert.equal(clean.status, 0, clean.out + clean.err);
  });
});
