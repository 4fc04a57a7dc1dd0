/**
 * Private state on the real engine, through `herd up` of the probe fixture whose GREETING is a
 * secret (`{ secret: true, required: true }`) given in herd's environment:
 * - the secret reaches the instances (the probe answers it at /, podman's container config has
 *   it): through the engine's create call, and nowhere else. It is in no file under HERD_HOME
 *   (herd.db and its WAL, the journal, the log store, the store with the exec evidence, the
 *   engine's log), in no answer of the API (status, fleets, incidents, logs, journal), not in
 *   herd's own output at debug level, and not in the alert webhook's body;
 * - with the engine running, nothing herd wrote under HERD_HOME is open to group or others, and
 *   a second local user cannot read a log segment, the evidence or herd.db;
 * - a `herd serve` beside the running `herd up` is refused, naming it, and the fleet keeps serving;
 * - once `herd up` stopped, a `herd serve` on a port in use, over a home that holds a fleet, exits
 *   non-zero and leaves no podman service, lock or control-plane.json behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, readdir, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerdAsync } from './support/cli.js';
import {
  eventually,
  podmanOf,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerd,
  stopHerdPodman,
} from './support/herd-process.js';

const secret = `s3cret-${randomBytes(8).toString('hex')}`;

function specText(repo: FixtureRepo): string {
  const text = probeSpecText(repo, { size: 2, env: {} });
  return text.replace('\nenv:\n', '\nenv:\n  GREETING: { secret: true, required: true }\n');
}

/** An HTTP receiver for the alert webhook: every body posted, as text. */
async function webhookReceiver(): Promise<{ server: HttpServer; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createHttpServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    bodies.push(Buffer.concat(chunks).toString('utf8'));
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/alert`, bodies };
}

/** Every regular file and socket herd wrote under `home`, podman's own storage aside. */
async function herdFiles(home: string): Promise<{ path: string; mode: number; file: boolean }[]> {
  const found: { path: string; mode: number; file: boolean }[] = [];
  const visit = async (path: string) => {
    const info = await lstat(path);
    found.push({ path, mode: info.mode & 0o7777, file: info.isFile() });
    if (!info.isDirectory()) return;
    for (const name of await readdir(path)) {
      if (relative(home, path) === 'engine' && ['storage', 'run', 'tmp'].includes(name)) continue;
      await visit(join(path, name));
    }
  };
  await visit(home);
  return found;
}

describe('private state on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let webhook: Awaited<ReturnType<typeof webhookReceiver>>;
  const herd = (args: string[]) => runHerdAsync(args, { home });

  before(async () => {
    webhook = await webhookReceiver();
    repo = await probeRepo();
    home = await freshHome();
    // As a home an older herd left: herd up must close it before anything else can be read.
    await chmod(home, 0o755);
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo) });
    up = startHerd(['up', dir], home, {
      GREETING: secret,
      HERD_WATCH_WEBHOOK: webhook.url,
      HERD_LOG_LEVEL: 'debug',
    });
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 180_000))[1]!;
    assert.match(up.output(), /herd: tightened modes of 1 file under HERD_HOME/);
  });

  after(async () => {
    await stopHerd(up);
    if (home) await stopHerdPodman(home);
    await repo?.close();
    webhook?.server.close();
  });

  it('gives the secret to the instances through the create call, and keeps it out of everything else', async () => {
    const podman = await podmanOf(home);
    const answer = await (await fetch(`${frontDoor}/`)).text();
    const ids = podman(['ps', '-q', '--no-trunc', '--filter', 'label=dev.herd.service=probe'])
      .trim()
      .split('\n');
    const env = JSON.parse(podman(['inspect', '--format', '{{json .Config.Env}}', ids[0]!])) as string[];
    // An exec is an incident: it reaches the journal, the incident store, the evidence and the webhook.
    podman(['exec', ids[0]!, '/usr/bin/probe-server'], { allowFailure: true });
    await eventually('the exec incident at the webhook', 20_000, () =>
      webhook.bodies.some((body) => body.includes('"kind":"exec"')) ? true : undefined,
    );
    const answers = await Promise.all([
      herd(['status', '--json']),
      herd(['status', 'probe', '--json']),
      herd(['incidents', '--json']),
      herd(['logs', 'probe', '--tail', '1000']),
      herd(['journal', '--json']),
      herd(['catalog', '--json']),
    ]);
    const files = await herdFiles(home);
    const leaks: string[] = [];
    for (const { path, file } of files) {
      if (file && (await readFile(path)).includes(secret)) leaks.push(relative(home, path));
    }

    assert.equal(answer, secret, 'the probe answers GREETING: the secret reached the instance');
    assert.ok(env.includes(`GREETING=${secret}`), 'the engine was given the secret at create');
    for (const [index, result] of answers.entries()) {
      assert.equal(result.status, 0, `answer ${index}: ${result.err}`);
      assert.ok(
        !result.out.includes(secret) && !result.err.includes(secret),
        `answer ${index} holds the secret`,
      );
    }
    assert.ok(answers[3]!.out.includes('probe listening on :8080'), 'the log store has the instances’ lines');
    assert.ok(
      files.some(({ path }) => path.endsWith('herd.db-wal')),
      'the WAL was searched too',
    );
    assert.deepEqual(leaks, []);
    assert.ok(!up!.output().includes(secret), "herd's own output holds the secret");
    assert.ok(webhook.bodies.length > 0 && !webhook.bodies.some((body) => body.includes(secret)));
  });

  it('keeps everything herd wrote private with the engine running', async () => {
    const files = await herdFiles(home);

    for (const path of ['engine/podman.sock', 'engine/service.log', 'engine/containers.conf', 'logs/probe']) {
      assert.ok(
        files.some((one) => relative(home, one.path) === path),
        `${path} is there`,
      );
    }
    assert.deepEqual(
      files
        .filter(({ mode }) => mode & 0o077)
        .map(({ path, mode }) => `${relative(home, path)} ${mode.toString(8)}`),
      [],
    );
  });

  it('keeps a second local user from reading a log segment, the evidence and herd.db', async () => {
    assert.equal(process.getuid?.(), 0, 'this test makes a second user with useradd, so it runs as root');
    const segment = (await readdir(join(home, 'logs', 'probe'))).find((name) => name.endsWith('.ndjson'))!;
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
      const asOther = (path: string) =>
        spawnSync('runuser', ['-u', user, '--', 'cat', path], { encoding: 'utf8', timeout: 10_000 });

      for (const path of [
        join(home, 'logs', 'probe', segment),
        join(home, 'store', 'referrers.json'),
        join(home, 'herd.db'),
        join(home, 'control-plane.json'),
      ]) {
        const result = asOther(path);
        assert.notEqual(result.status, 0, `${path} was read by ${user}`);
        assert.match(result.stderr, /Permission denied/, path);
      }
    } finally {
      spawnSync('userdel', [user]);
    }
  });

  it('refuses a herd serve beside the running herd up, naming it, and the fleet keeps serving', async () => {
    const lock = JSON.parse(await readFile(join(home, 'control-plane.lock'), 'utf8')) as { url: string };

    const second = await herd(['serve', '--port', '0']);

    assert.equal(second.status, 2, second.err);
    assert.match(
      second.err,
      new RegExp(`in use by herd up \\(pid ${up!.child.pid}, ${lock.url.replaceAll('.', '\\.')},`),
    );
    assert.equal(await (await fetch(`${frontDoor}/`)).text(), secret);
    assert.equal(up!.child.exitCode, null);
  });

  it('after herd up stopped: a port in use ends herd serve with no podman, lock or control-plane.json left', async () => {
    await stopHerd(up);
    const db = new Database(join(home, 'herd.db'), { readonly: true });
    const fleets = db.prepare('SELECT COUNT(*) AS n FROM fleets').get() as { n: number };
    db.close();
    assert.equal(fleets.n, 1, 'the home holds a fleet, so a started control plane would start the engine');
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      const result = await herd(['serve', '--port', String(port)]);

      assert.equal(result.status, 2, result.err);
      assert.match(result.err, /is already in use/);
      assert.deepEqual(
        (await readdir(home)).filter((name) => name.startsWith('control-plane.')),
        [],
      );
      const podmanService = spawnSync('pgrep', ['-f', `unix://${join(home, 'engine')}/podman.sock`]);
      assert.notEqual(podmanService.status, 0, 'no podman service runs for this home');
    } finally {
      squatter.close();
    }
  });
});
