/**
 * The examples in examples/ end to end on the real engine, as a user runs them: `herd up` locks
 * each against the Debian archive configured on this host, builds it, gates it with its own
 * profile, signs, releases and rolls it out hardened (read-only root, no capabilities,
 * no-new-privileges, uid 65532), and it answers a real request: HTTP at the front door, redis's
 * PING over TCP at its instance (the front door speaks HTTP only, and redis drops a connection
 * that sends it HTTP). haproxy's backend is the hello example, run by a second HERD_HOME with its
 * own podman, whose instance address haproxy takes from herd's environment.
 *
 * One HERD_HOME for all, so the .deb and unpack caches are shared; fleets of one; one example at
 * a time, each stopped with Ctrl-C before the next starts. Each example is copied to a temporary
 * folder first, so no herd.lock is written into the repository.
 */
import assert from 'node:assert/strict';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshHome } from './support/build-harness.js';
import { projectRoot, runHerd } from './support/cli.js';
import { podmanOf, type RunningHerd, startHerd, stopHerd, stopHerdPodman } from './support/herd-process.js';
import { requireTool } from './support/podman.js';

/** A cold build of the largest example (the JRE, 73 packages) on a busy 2-core machine. */
const upTimeoutMs = 240_000;

interface HttpExample {
  name: string;
  profile: 'strict' | 'baseline';
  body: RegExp;
  /** The spec's run.writable: the only tmpfs mounted writable. */
  writable: string[];
}

const httpExamples: HttpExample[] = [
  {
    name: 'nginx',
    profile: 'strict',
    body: /<p>hello from nginx on herd<\/p>/,
    writable: ['/tmp', '/var/lib/nginx'],
  },
  { name: 'python', profile: 'strict', body: /^hello from python on herd\n$/, writable: ['/tmp'] },
  { name: 'java', profile: 'strict', body: /^hello from java on herd\n$/, writable: ['/tmp'] },
  {
    name: 'busybox-httpd',
    profile: 'baseline',
    body: /<p>hello from busybox httpd on herd<\/p>/,
    writable: ['/tmp'],
  },
];

interface Inspected {
  Config: { User: string };
  HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[]; Tmpfs?: Record<string, string> | null };
  EffectiveCaps: string[] | null;
  NetworkSettings: { IPAddress: string };
}

describe('the examples on podman through herd up', () => {
  let home: string;
  let helperHome: string;
  let copies: string;
  const running = new Set<RunningHerd>();

  /** `herd up` on a copy of examples/<name>; resolves once it prints its front door. */
  const up = async (name: string, where: { home: string; env?: Record<string, string> }) => {
    const dir = join(copies, name);
    await cp(join(projectRoot, 'examples', name), dir, { recursive: true });
    await rm(join(dir, 'herd.lock'), { force: true });
    await writeFile(join(dir, 'herd.yaml'), quickFleetOfOne(await readFile(join(dir, 'herd.yaml'), 'utf8')));
    const herd = startHerd(['up', dir], where.home, where.env);
    running.add(herd);
    const door = (await herd.waitFor(/front door {2}(http:\/\/\S+)\//, upTimeoutMs))[1]!;
    return { herd, door };
  };

  const stop = async (herd: RunningHerd) => {
    await stopHerd(herd);
    running.delete(herd);
  };

  /** The service's instances, from the podman that herd started under `inHome`. */
  const instances = async (service: string, inHome = home) => {
    const podman = await podmanOf(inHome);
    const ids = podman(['ps', '-q', '--filter', `label=dev.herd.service=${service}`])
      .trim()
      .split('\n');
    return JSON.parse(podman(['inspect', ...ids])) as Inspected[];
  };

  const assertHardened = (service: string, inspected: Inspected[], writable: string[]) => {
    assert.ok(inspected.length >= 1, `${service} has a running instance`);
    for (const container of inspected) {
      assert.equal(container.HostConfig.ReadonlyRootfs, true, `${service}: read-only root`);
      assert.equal(container.Config.User, '65532:65532', `${service}: the run user`);
      assert.ok(
        container.HostConfig.SecurityOpt.includes('no-new-privileges'),
        `${service}: no-new-privileges`,
      );
      assert.deepEqual(container.EffectiveCaps ?? [], [], `${service}: no capabilities`);
      const writableMounts = Object.entries(container.HostConfig.Tmpfs ?? {})
        .filter(([, options]) => options.startsWith('rw'))
        .map(([path]) => path)
        .sort();
      assert.deepEqual(writableMounts, writable, `${service}: writable tmpfs only where declared`);
    }
  };

  before(async () => {
    requireTool('podman', 'podman');
    requireTool('runc', 'runc');
    home = await freshHome('herd-examples-');
    helperHome = await freshHome('herd-examples-backend-');
    copies = await freshHome('herd-examples-specs-');
  });

  after(async () => {
    for (const herd of running) await stopHerd(herd);
    for (const dir of [home, helperHome]) if (dir) await stopHerdPodman(dir).catch(() => undefined);
    for (const dir of [home, helperHome, copies]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const example of httpExamples) {
    it(`${example.name}: builds, passes the ${example.profile} gate, runs hardened and answers at its front door`, async () => {
      const { herd, door } = await up(example.name, { home });
      try {
        const answer = await fetch(`${door}/`);
        const body = await answer.text();
        const health = await fetch(`${door}/healthz`);

        assert.equal(answer.status, 200, body);
        assert.match(body, example.body);
        assert.equal(health.status, 200);
        assert.match(herd.output(), new RegExp(`gate passed \\(${example.profile}\\)`));
        assertHardened(example.name, await instances(example.name), example.writable);
      } finally {
        await stop(herd);
      }
    });
  }

  it('redis: builds, passes the strict gate, runs hardened and answers PING with PONG over TCP', async () => {
    const { herd } = await up('redis', { home });
    try {
      const status = runHerd(['status', 'redis', '--json'], { home });
      assert.equal(status.status, 0, status.err);
      const [instance] = (
        JSON.parse(status.out) as { instances: { address?: { host: string; port: number } }[] }
      ).instances;
      assert.ok(instance?.address, status.out);

      const reply = await redisCommand(instance.address, 'PING');

      assert.equal(reply, '+PONG\r\n');
      assert.match(herd.output(), /gate passed \(strict\)/);
      assertHardened('redis', await instances('redis'), ['/var/lib/redis']);
    } finally {
      await stop(herd);
    }
  });

  it('haproxy: builds, passes the strict gate, runs hardened and proxies its front door to hello', async () => {
    const backend = await up('hello', { home: helperHome });
    try {
      const [hello] = await instances('hello', helperHome);
      assert.ok(hello?.NetworkSettings.IPAddress, 'hello has an address on the engine network');
      const { herd, door } = await up('haproxy', {
        home,
        env: { HELLO_ADDRESS: `${hello.NetworkSettings.IPAddress}:8080` },
      });
      try {
        const health = await fetch(`${door}/healthz`);
        await health.text();
        const answer = await fetch(`${door}/`);

        assert.equal(health.status, 200);
        assert.equal(answer.status, 200);
        assert.equal(await answer.text(), 'hello from herd\n');
        assert.match(herd.output(), /gate passed \(strict\)/);
        assertHardened('haproxy', await instances('haproxy'), ['/tmp']);
      } finally {
        await stop(herd);
      }
    } finally {
      await stop(backend.herd);
    }
  });
});

/**
 * A fleet of one that counts as available as soon as it passes a check: `herd up` prints the front
 * door once the rollout completes, and the default minReadySeconds (5) would add that wait to each
 * example. A fleet knob only, outside the signed run template. hello declares no fleet (it would run
 * two instances); the other examples declare `size: 1`.
 */
function quickFleetOfOne(spec: string): string {
  const fleet = '\nfleet:\n  size: 1\n';
  const quick = `${fleet}  strategy: { minReadySeconds: 0 }\n`;
  if (spec.includes(fleet)) return spec.replace(fleet, quick);
  assert.doesNotMatch(spec, /^fleet:/m, 'an example with a fleet other than size: 1');
  return `${spec}${quick}`;
}

/** One command in RESP's inline form; resolves with the first reply line. */
function redisCommand(address: { host: string; port: number }, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(address.port, address.host);
    let reply = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no reply to ${command} within 5 s`)));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.once('error', reject);
  });
}
