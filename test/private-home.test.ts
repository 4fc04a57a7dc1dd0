/**
 * Private state and one control plane per HERD_HOME, through the real CLI (no engine needed: a
 * control plane without fleets never starts one):
 * - after a build and a signature, and while `herd serve` runs, nothing under HERD_HOME can be
 *   read, written or entered by group or others;
 * - a second `herd serve` on the same home exits non-zero at once, naming the first by pid and URL,
 *   and the first keeps answering with its control-plane.json untouched;
 * - a serve killed with SIGKILL leaves a lock that the next serve takes over;
 * - a port in use ends the start with nothing left behind;
 * - a home left with 0644 files is fixed on start, and herd says so;
 * - a second local user (made with useradd) cannot read herd.db, the logs, the store or the keys.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd, runHerdAsync } from './support/cli.js';
import { type RunningHerd, startHerd, stopHerd } from './support/herd-process.js';

const env = { HERD_KEY_PASSWORD: 'correct horse', HERD_ACTOR: 'tester' };

const spec = (repo: FixtureRepo) => `apiVersion: herd/v1
service: tiny
image:
  suite: bookworm
  packages: [tiny-bin]
  repositories:
    - uri: file://${repo.dir}/
      suites: [test]
      keyring: ${repo.keyringPath}
`;

/** Every entry under `root` (podman's own storage under engine/ aside) with its permission bits. */
async function modesUnder(root: string): Promise<Map<string, number>> {
  const modes = new Map<string, number>();
  const visit = async (path: string) => {
    const info = await lstat(path);
    modes.set(relative(root, path) || '.', info.mode & 0o7777);
    if (!info.isDirectory()) return;
    for (const name of await readdir(path)) {
      const child = join(path, name);
      if (['storage', 'run', 'tmp'].includes(name) && relative(root, path) === 'engine') continue;
      await visit(child);
    }
  };
  await visit(root);
  return modes;
}

function openToOthers(modes: Map<string, number>): string[] {
  return [...modes].filter(([, mode]) => mode & 0o077).map(([path, mode]) => `${path} ${mode.toString(8)}`);
}

async function serve(home: string, port = '0'): Promise<{ herd: RunningHerd; url: string }> {
  const herd = startHerd(['serve', '--port', port], home, env);
  const url = (await herd.waitFor(/fleet API at (http:\/\/[^/\s]+)\/api\/v1\//, 60_000))[1]!;
  return { herd, url };
}

describe('private state and one control plane per HERD_HOME', () => {
  let repo: FixtureRepo;
  let home: string;
  let digest: string;

  before(async () => {
    repo = await createAptRepo({
      dir: await freshHome('herd-repo-'),
      suites: [{ name: 'test' }],
      packages: [
        {
          name: 'base-files',
          version: '12.4',
          files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
        },
        {
          name: 'tiny-bin',
          version: '1.0',
          files: [{ path: 'usr/bin/tiny', content: 'tiny\n', mode: 0o755 }],
        },
      ],
    });
    // A home herd creates itself: every writer must make it private, not a later check. Its
    // parent is open, so only HERD_HOME's own modes keep the second user below out.
    const parent = await freshHome();
    await chmod(parent, 0o755);
    home = join(parent, 'home');
    const specDir = await writeSpecDir({ 'herd.yaml': spec(repo) });
    const build = runHerd(['build', specDir, '--json'], { home, env });
    assert.equal(build.status, 0, build.err);
    digest = (JSON.parse(build.out) as { digest: string }).digest;
    for (const args of [
      ['keys', 'generate'],
      ['sign', digest],
    ]) {
      const result = runHerd(args, { home, env });
      assert.equal(result.status, 0, `herd ${args.join(' ')}: ${result.err}`);
      assert.doesNotMatch(result.err, /tightened modes/, `herd ${args.join(' ')} found a loose home`);
    }
  });

  after(async () => {
    await repo?.close();
  });

  it('keeps every file under HERD_HOME private after a build and a signature', async () => {
    const modes = await modesUnder(home);

    for (const path of ['herd.db', 'store/index.json', 'keys/cosign.key', 'keys/cosign.pub', 'cache']) {
      assert.ok(modes.has(path), `${path} was written`);
    }
    assert.ok([...modes.keys()].some((path) => path.startsWith('store/blobs/sha256/')));
    assert.deepEqual(openToOthers(modes), []);
  });

  it('keeps them private while herd serve runs, its lock and control-plane.json included', async () => {
    const { herd } = await serve(home);
    try {
      const modes = await modesUnder(home);

      assert.ok(
        modes.has('control-plane.lock') && modes.has('control-plane.json'),
        [...modes.keys()].join(' '),
      );
      assert.deepEqual(openToOthers(modes), []);
    } finally {
      await stopHerd(herd);
    }
  });

  it('refuses a second herd serve at once, naming the first, which keeps working unchanged', async () => {
    const first = await serve(home);
    try {
      const advertised = join(home, 'control-plane.json');
      const before = { text: await readFile(advertised, 'utf8'), mtime: (await stat(advertised)).mtimeMs };
      const lockBefore = await readFile(join(home, 'control-plane.lock'), 'utf8');
      // The CLI's own start-up (node, tsx, the command modules) is the baseline the refusal adds
      // to; the faster of two runs each keeps a busy machine's noise out of the comparison.
      const version = () => timed(() => runHerdAsync(['--version'], { home, env }));
      const serveAgain = () => timed(() => runHerdAsync(['serve', '--port', '0'], { home, env }));
      const startup = [await version(), await version()].sort((a, b) => a.ms - b.ms)[0]!;

      const second = [await serveAgain(), await serveAgain()].sort((a, b) => a.ms - b.ms)[0]!;

      assert.equal(second.result.status, 2, second.result.err);
      assert.match(
        second.result.err,
        new RegExp(
          `in use by herd serve \\(pid ${first.herd.child.pid}, ${first.url.replaceAll('.', '\\.')}, since `,
        ),
      );
      assert.ok(
        second.ms - startup.ms < 2_000,
        `the refusal took ${second.ms} ms against ${startup.ms} ms for herd --version`,
      );
      assert.equal(await readFile(advertised, 'utf8'), before.text);
      assert.equal((await stat(advertised)).mtimeMs, before.mtime);
      assert.equal(await readFile(join(home, 'control-plane.lock'), 'utf8'), lockBefore);
      // It still answers (whatever a request without a token gets), and still runs.
      const answer = await fetch(`${first.url}/v2/`);
      assert.ok([200, 401].includes(answer.status), `GET /v2/ answered ${answer.status}`);
      assert.equal(first.herd.child.exitCode, null);
    } finally {
      await stopHerd(first.herd);
    }
    assert.deepEqual(
      (await readdir(home)).filter((name) => name.startsWith('control-plane.')),
      [],
      'a stopped control plane leaves no lock, socket or control-plane.json',
    );
  });

  it('takes over the lock of a herd serve that was killed with SIGKILL', async () => {
    const killed = await serve(home);
    const exited = new Promise((resolve) => killed.herd.child.once('exit', resolve));
    killed.herd.child.kill('SIGKILL');
    await exited;
    assert.match(await readFile(join(home, 'control-plane.lock'), 'utf8'), /"pid"/);

    const next = await serve(home);
    try {
      const lock = JSON.parse(await readFile(join(home, 'control-plane.lock'), 'utf8')) as {
        pid: number;
        url: string;
      };

      assert.equal(lock.pid, next.herd.child.pid);
      assert.equal(lock.url, next.url);
    } finally {
      await stopHerd(next.herd);
    }
  });

  it('exits non-zero on a port in use and leaves nothing behind', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      const result = await runHerdAsync(['serve', '--port', String(port)], { home, env });

      assert.equal(result.status, 2, result.err);
      assert.match(result.err, new RegExp(`herd: 127\\.0\\.0\\.1:${port} is already in use`));
      assert.deepEqual(
        (await readdir(home)).filter((name) => name.startsWith('control-plane.')),
        [],
      );
    } finally {
      squatter.close();
    }
  });

  it('fixes a home left with 0644 files and 0755 folders on start, and says so once', async () => {
    const loose = async () => {
      for (const [path] of await modesUnder(home)) {
        const full = join(home, path);
        const info = await lstat(full);
        if (!info.isSymbolicLink()) await chmod(full, info.isDirectory() ? 0o755 : 0o644);
      }
    };
    await loose();
    const loosened = await modesUnder(home);

    const journal = runHerd(['journal'], { home, env });
    const afterJournal = await modesUnder(home);
    await loose();
    const { herd } = await serve(home);
    await stopHerd(herd);
    const said = herd.output().match(/herd: tightened modes of (\d+) files under HERD_HOME/g) ?? [];

    assert.equal(journal.status, 0, journal.err);
    assert.deepEqual(openToOthers(afterJournal), []);
    assert.equal(
      journal.err
        .match(/^herd: tightened modes of (\d+) files under HERD_HOME \((.*)\)/m)
        ?.slice(1, 3)
        .join(' '),
      `${loosened.size} ${home}`,
      `${journal.err}; loosened: ${[...loosened.keys()].join(' ')}`,
    );
    assert.equal(said.length, 1, herd.output());
    assert.deepEqual(openToOthers(await modesUnder(home)), []);
  });

  it('keeps a second local user from reading herd.db, the logs, the store and the keys', async () => {
    assert.equal(process.getuid?.(), 0, 'this test makes a second user with useradd, so it runs as root');
    const user = `herd-other-${randomBytes(3).toString('hex')}`;
    const added = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(added.status, 0, `useradd: ${added.stderr}`);
    try {
      const asOther = (command: string[]) =>
        spawnSync('runuser', ['-u', user, '--', ...command], { encoding: 'utf8', timeout: 10_000 });
      // The control: the same user reads an ordinary 0644 file in a 0755 folder.
      const open = await mkdtemp(join(tmpdir(), 'herd-open-'));
      await chmod(open, 0o755);
      await writeFile(join(open, 'readable'), 'yes', { mode: 0o644 });
      const blob = (await readdir(join(home, 'store', 'blobs', 'sha256')))[0]!;

      const control = asOther(['cat', join(open, 'readable')]);
      const refused = [
        ['cat', join(home, 'herd.db')],
        ['ls', join(home, 'logs')],
        ['cat', join(home, 'store', 'index.json')],
        ['cat', join(home, 'store', 'blobs', 'sha256', blob)],
        ['cat', join(home, 'keys', 'cosign.key')],
        ['ls', home],
      ].map((command) => ({ command, result: asOther(command) }));

      assert.equal(control.status, 0, control.stderr);
      assert.equal(control.stdout, 'yes');
      for (const { command, result } of refused) {
        assert.notEqual(result.status, 0, `${command.join(' ')} as ${user} succeeded`);
        assert.match(result.stderr, /Permission denied/, command.join(' '));
      }
    } finally {
      spawnSync('userdel', [user]);
    }
  });
});

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}
