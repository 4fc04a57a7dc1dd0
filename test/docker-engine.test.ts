/**
 * DockerEngine against a real Podman 4.3 service that ensureEngine starts in a temp dir, pulling
 * the probe image (test/support/probe-server.c) from herd's own /v2/ endpoint on loopback. The
 * Engine contract runs here as it does on the memory engine; then podman itself and the kernel's
 * view of the process confirm the hardening. A missing podman fails these tests, never skips them.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { DockerEngine } from '../src/engines/docker/docker-engine.js';
import { pingSocket } from '../src/engines/docker/ping.js';
import { type EngineService, ensureEngine } from '../src/engines/docker/podman-service.js';
import {
  EngineError,
  type EngineEvent,
  type InstanceSpec,
  instanceLabels,
  legacyRevisionLabel,
} from '../src/engines/engine.js';
import { describeEngineContract } from '../src/engines/engine-contract.js';
import { exportOciArchive } from '../src/oci/archive-export.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import { createApp } from '../src/server/app.js';
import { type RunningServer, startServer } from '../src/server/node-server.js';
import {
  archivedGreeting,
  type ProbeImages,
  probeListeningText,
  probePort,
  probeUser,
  writeProbeImages,
} from './support/probe-image.js';

interface Environment {
  work: string;
  store: LayoutStore;
  images: ProbeImages;
  server: RunningServer;
  /** `127.0.0.1:<port>` of herd's /v2/ endpoint. */
  registry: string;
  service: EngineService;
  engine: DockerEngine;
  docker: Docker;
}

let pending: Promise<Environment> | undefined;

/** One podman service and one registry for the whole file, made on first use. */
function environment(): Promise<Environment> {
  pending ??= (async () => {
    const work = await mkdtemp(join(tmpdir(), 'herd-docker-engine-'));
    let service: EngineService | undefined;
    let server: RunningServer | undefined;
    try {
      // env {}: this test starts its own service even when the developer has DOCKER_HOST set. First,
      // so that a missing podman fails every test at once with what to install.
      service = await ensureEngine({ stateDir: join(work, 'engine'), env: {} });
      const store = new LayoutStore(join(work, 'store'));
      await store.init();
      const images = await writeProbeImages(store);
      server = await startServer({ app: createApp({ store }), port: 0 });
      return {
        work,
        store,
        images,
        server,
        registry: new URL(server.url).host,
        service,
        engine: new DockerEngine({ socketPath: service.socketPath }),
        docker: new Docker({ socketPath: service.socketPath }),
      };
    } catch (error) {
      // Half-made: nothing may keep the test process alive or leave storage behind.
      await server?.close();
      await service?.stop();
      await rm(work, { recursive: true, force: true });
      throw error;
    }
  })();
  return pending;
}

after(async () => {
  if (!pending) return;
  const env = await pending.catch(() => undefined);
  if (!env) return;
  const leftovers = await env.docker.listContainers({ all: true }).catch(() => []);
  for (const container of leftovers) {
    await env.docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await env.service.stop();
  await env.server.close();
  await rm(env.work, { recursive: true, force: true });
});

function specFor(env: Environment, overrides: Partial<InstanceSpec> & { service: string }): InstanceSpec {
  const digest = overrides.digest ?? env.images.probe;
  return {
    revision: 'r1',
    digest,
    imageRef: `${env.registry}/${overrides.service}@${digest}`,
    user: probeUser,
    env: { GREETING: 'hello from the test' },
    writable: ['/tmp'],
    port: probePort,
    resources: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
    stopGraceSeconds: 5,
    ...overrides,
  };
}

describeEngineContract('DockerEngine on podman', async () => {
  const env = await environment();
  return {
    engine: env.engine,
    spec: (overrides) => specFor(env, overrides),
    exitingSpec: (overrides) => specFor(env, { digest: env.images.exiting, ...overrides }),
    logText: probeListeningText,
    imageFile: 'probe-server',
    // The root is read-only inside (podman cp refuses too), so the change goes into the container's
    // storage from the host, as someone with access to the engine's storage could.
    async alter(id) {
      const merged = podmanCli(env, ['mount', id]).trim();
      try {
        await writeFile(join(merged, 'planted'), 'planted by the contract test\n');
      } finally {
        podmanCli(env, ['unmount', id]);
      }
      return '/planted';
    },
    async dropInTmp(id) {
      const source = join(env.work, 'dropped');
      await writeFile(source, '#!/bin/sh\n', { mode: 0o755 });
      podmanCli(env, ['cp', source, `${id}:/tmp/dropped`]);
    },
    async exec(id) {
      // The probe image holds only probe-server; a second one exits at once (port taken), which is enough.
      podmanCli(env, ['exec', id, '/probe-server'], { allowFailure: true });
    },
    workloadExecutable: '/probe-server',
    async burnCpu(instance, cpuMs) {
      const answer = await fetch(`http://127.0.0.1:${instance.address?.port}/spin?ms=${cpuMs}`);
      assert.equal(await answer.text(), 'spun');
    },
    // The host's sleep in the instance's pid namespace only, as `nsenter -t <pid> -p` from the host.
    async startStray(id) {
      const [inspected] = JSON.parse(podmanCli(env, ['inspect', id])) as { State: { Pid: number } }[];
      const sleep = realpathSync('/usr/bin/sleep');
      const child = spawn('nsenter', ['-t', String(inspected?.State.Pid), '-p', '--', sleep, '60'], {
        detached: true,
        stdio: 'ignore',
      });
      return {
        executable: sleep,
        // The group: nsenter forks sleep as its child, inside the instance's pid namespace.
        stop: async () => {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        },
      };
    },
    debugCommand: ['/probe-server', 'echo'],
    patienceMs: 10_000,
    // Same image and even a herd service label, but not managed by herd: list must leave it out.
    async createForeign() {
      const spec = specFor(env, { service: 'contract-list-a' });
      await env.engine.ensureImage(spec);
      const container = await env.docker.createContainer({
        Image: spec.imageRef,
        Labels: { 'dev.herd.service': 'contract-list-a' },
      });
      return container.id;
    },
    async removeForeign(id) {
      await env.docker.getContainer(id).remove({ force: true });
    },
  };
});

describe('DockerEngine on podman', () => {
  let env: Environment;

  before(async () => {
    env = await environment();
  });

  async function started(overrides: Partial<InstanceSpec> & { service: string }) {
    const spec = specFor(env, overrides);
    await env.engine.ensureImage(spec);
    return env.engine.create(spec);
  }

  function podman(args: string[]) {
    const cli = env.service.podman;
    assert.ok(cli, 'ensureEngine started its own service, so it says how to reach its storage');
    const result = spawnSync('podman', [...cli.args, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...cli.env },
      timeout: 30_000,
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
  }

  it('started its own podman service under the state dir, with herd containers.conf and registries.conf', async () => {
    const engineDir = join(env.work, 'engine');

    assert.equal(env.service.started, true);
    assert.equal(env.service.socketPath, join(engineDir, 'podman.sock'));
    assert.match(await readFile(join(engineDir, 'containers.conf'), 'utf8'), /runtime = "runc"/);
    assert.match(
      await readFile(join(engineDir, 'registries.conf'), 'utf8'),
      /location = "127.0.0.1"\s+insecure = true/,
    );
    assert.ok(env.service.podman?.args.includes(join(engineDir, 'storage')));
    assert.deepEqual(await env.engine.info().then((info) => info.name), 'podman');
  });

  it('creates an instance that podman and the kernel see as read-only, capless, non-root and no-new-privileges', async () => {
    const instance = await started({ service: 'hardened' });

    const [inspected] = JSON.parse(podman(['inspect', instance.id])) as PodmanInspect[];
    const status = await readFile(`/proc/${inspected?.State.Pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();

    assert.equal(inspected?.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(inspected?.EffectiveCaps ?? [], []);
    assert.deepEqual(inspected?.BoundingCaps ?? [], []);
    assert.equal(inspected?.Config.User, '65532:65532');
    assert.ok(inspected?.HostConfig.SecurityOpt?.includes('no-new-privileges'));
    assert.equal(inspected?.HostConfig.Init, true);
    assert.match(inspected?.HostConfig.Tmpfs?.['/tmp'] ?? '', /^rw,noexec,nosuid,nodev,size=64m/);
    assert.match(inspected?.HostConfig.Tmpfs?.['/run'] ?? '', /^ro,noexec/);
    assert.equal(inspected?.HostConfig.PidsLimit, 64);
    assert.equal(inspected?.HostConfig.Memory, 128 * 1024 * 1024);
    assert.equal(field('Uid'), '65532\t65532\t65532\t65532');
    assert.equal(field('CapEff'), '0000000000000000');
    assert.equal(field('CapBnd'), '0000000000000000');
    assert.equal(field('NoNewPrivs'), '1');
    // /dev/shm as the kernel mounted it: 1 MiB (podman's own is 64 MiB), never exec.
    const mounts = await readFile(`/proc/${inspected?.State.Pid}/mountinfo`, 'utf8');
    const shm = mounts.split('\n').find((line) => line.split(' ')[4] === '/dev/shm') ?? '';
    assert.match(shm, /[ ,]noexec[ ,]/, shm);
    assert.match(shm, /size=1024k/, shm);
  });

  it('answers HTTP on its published loopback port, with the environment it was given', async () => {
    const instance = await started({ service: 'http', env: { GREETING: 'hello, herd' } });
    const base = `http://${instance.address?.host}:${instance.address?.port}`;

    const health = await fetchWhenUp(`${base}/healthz`);
    const greeting = await fetch(`${base}/`);

    assert.equal(instance.address?.host, '127.0.0.1');
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok');
    assert.equal(await greeting.text(), 'hello, herd');
  });

  it('stops an instance with SIGTERM, letting an in-flight request finish', async () => {
    const instance = await started({ service: 'graceful' });
    const base = `http://127.0.0.1:${instance.address?.port}`;
    await fetchWhenUp(`${base}/healthz`);

    const slow = fetch(`${base}/slow?ms=700`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const began = Date.now();
    await env.engine.remove(instance.id);
    const response = await slow;

    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'slept');
    assert.ok(Date.now() - began < 5000, 'stopped before the grace period ran out');
  });

  it('reports an instance that exits on its own as exited with its exit code', async () => {
    const abort = new AbortController();
    const seen: EngineEvent[] = [];
    const stream = env.engine.events(abort.signal);
    const collecting = (async () => {
      for await (const event of stream) seen.push(event);
    })();
    const instance = await started({ service: 'exits' });
    await fetchWhenUp(`http://127.0.0.1:${instance.address?.port}/healthz`);

    await fetch(`http://127.0.0.1:${instance.address?.port}/exit`);
    const exited = await waitFor(() =>
      seen.find((event) => event.id === instance.id && event.kind === 'exited'),
    );
    abort.abort();
    await collecting;
    const [listed] = await env.engine.list({ service: 'exits' });

    const { cursor, ...event } = exited ?? {};
    assert.deepEqual(event, { kind: 'exited', id: instance.id, exitCode: 3 });
    assert.match(cursor ?? '', /^\d+\.\d{6}$/, 'the event says where it sits in the engine record');
    assert.equal(listed?.state, 'exited');
    assert.equal(listed?.exitCode, 3);
  });

  it('reports an image that exits at once as exited with code 1', async () => {
    const instance = await started({ service: 'exit-at-once', digest: env.images.exiting });

    const listed = await waitFor(async () => {
      const [found] = await env.engine.list({ service: 'exit-at-once' });
      return found?.state === 'exited' ? found : undefined;
    });

    assert.equal(listed?.id, instance.id);
    assert.equal(listed?.exitCode, 1);
    assert.match(await env.engine.logs(instance.id), /EXIT_AT_ONCE=1/);
  });

  it('leaves alone a container herd did not make, even when asked to remove it', async () => {
    const spec = specFor(env, { service: 'foreign' });
    await env.engine.ensureImage(spec);
    const foreign = await env.docker.createContainer({
      Image: spec.imageRef,
      Labels: { team: 'someone-else' },
    });

    await env.engine.remove(foreign.id);

    assert.equal((await foreign.inspect()).Id, foreign.id);
    await foreign.remove({ force: true });
  });

  it('adopts an instance a previous herd labelled dev.herd.release, its revision read from that label', async () => {
    const spec = specFor(env, { service: 'previous-herd' });
    await env.engine.ensureImage(spec);
    const container = await env.docker.createContainer({
      Image: spec.imageRef,
      User: `${probeUser.uid}:${probeUser.gid}`,
      Labels: {
        [instanceLabels.managedBy]: 'herd',
        [instanceLabels.service]: 'previous-herd',
        [legacyRevisionLabel]: 'r0',
        [instanceLabels.digest]: spec.digest,
      },
    });
    await container.start();

    const [listed] = await env.engine.list({ service: 'previous-herd' });
    await env.engine.remove(container.id);
    const left = await env.engine.list({ service: 'previous-herd' });

    assert.equal(listed?.id, container.id);
    assert.equal(listed?.revision, 'r0');
    assert.equal(listed?.state, 'running');
    assert.equal(listed?.labels[instanceLabels.revision], undefined, 'herd does not relabel what it adopts');
    assert.deepEqual(left, [], "an adopted instance is herd's to remove");
  });

  it('labels the instances it makes with dev.herd.revision only', async () => {
    const instance = await started({ service: 'labelled', revision: 'r9' });

    const [inspected] = JSON.parse(podman(['inspect', instance.id])) as {
      Config: { Labels: Record<string, string> };
    }[];

    assert.equal(inspected?.Config.Labels[instanceLabels.revision], 'r9');
    assert.equal(inspected?.Config.Labels[legacyRevisionLabel], undefined);
    await env.engine.remove(instance.id);
  });

  it('fails to make available a digest the registry does not have, with IMAGE', async () => {
    const missing = `sha256:${'0'.repeat(64)}` as Digest;

    await assert.rejects(
      env.engine.ensureImage({ imageRef: `${env.registry}/probe@${missing}`, digest: missing }),
      {
        code: 'IMAGE',
      },
    );
  });

  it('loads an OCI archive and runs it without reaching any registry', async () => {
    // Port 1 on loopback: nothing listens, so a pull could only fail.
    const repository = '127.0.0.1:1/probe-archive';
    const archive = join(env.work, 'probe-archive.tar');
    await writeFile(archive, await exportOciArchive(env.store, env.images.archived, { refName: repository }));

    const names = await env.engine.loadImage(archive);
    const instance = await started({
      service: 'from-archive',
      digest: env.images.archived,
      imageRef: `${repository}@${env.images.archived}`,
      env: {},
    });
    const response = await fetchWhenUp(`http://127.0.0.1:${instance.address?.port}/`);

    assert.ok(
      names.some((name) => name.startsWith(repository)),
      `loaded ${names.join(', ')}`,
    );
    assert.equal(await response.text(), archivedGreeting);
  });

  it('says UNREACHABLE and names the socket when no engine answers there, for calls and for events', async () => {
    const socketPath = join(env.work, 'no-engine-here.sock');
    const engine = new DockerEngine({ socketPath });

    await assert.rejects(engine.list(), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'UNREACHABLE');
      assert.ok(error.message.includes(socketPath), error.message);
      assert.match(error.message, /podman system service/);
      return true;
    });
    await assert.rejects(
      async () => {
        for await (const _ of engine.events(new AbortController().signal)) {
          // no events can come
        }
      },
      { code: 'UNREACHABLE' },
    );
  });

  it('reuses an answering socket from DOCKER_HOST, and its own running service, instead of starting another', async () => {
    const fromDockerHost = await ensureEngine({
      stateDir: join(env.work, 'unused'),
      env: { DOCKER_HOST: `unix://${env.service.socketPath}` },
    });
    const again = await ensureEngine({ stateDir: join(env.work, 'engine'), env: {} });

    assert.equal(fromDockerHost.started, false);
    assert.match(fromDockerHost.describe, /DOCKER_HOST/);
    assert.equal(again.started, false);
    assert.equal(again.socketPath, env.service.socketPath);
  });
});

describe('herd podman service under a HERD_HOME deeper than podman takes for its run root', () => {
  it('starts, with its run root in a private folder of herd own under /run, and stops', async () => {
    const work = await mkdtemp(join(tmpdir(), 'herd-deep-engine-'));
    // As a HERD_HOME under a project folder: <work>/projects/.../.herd/engine, well past 50 characters.
    const stateDir = join(work, 'projects', 'platform-team', 'payments-service', '.herd', 'engine');
    let service: EngineService | undefined;
    let runRoot: string | undefined;
    try {
      service = await ensureEngine({ stateDir, env: {} });
      assert.equal(service.started, true);
      const args = service.podman?.args ?? [];
      runRoot = args[args.indexOf('--runroot') + 1]!;
      assert.ok(runRoot.length <= 50, runRoot);
      assert.match(runRoot, /^\/run\/herd\/[0-9a-f]{16}$/);
      const own = await stat('/run/herd');
      assert.equal(own.mode & 0o777, 0o700);
      assert.equal(await pingSocket(service.socketPath), true);
      const listed = spawnSync('podman', [...args, 'ps', '-a', '--format', '{{.ID}}'], {
        encoding: 'utf8',
        env: { ...process.env, ...service.podman?.env },
        timeout: 30_000,
      });
      assert.equal(listed.status, 0, listed.stderr);
    } finally {
      await service?.stop();
      await rm(work, { recursive: true, force: true });
      if (runRoot?.startsWith('/run/herd/')) await rm(runRoot, { recursive: true, force: true });
    }
  });
});

/** The podman CLI against the test's own service storage. */
function podmanCli(env: Environment, args: string[], options: { allowFailure?: boolean } = {}): string {
  const cli = env.service.podman;
  assert.ok(cli, 'ensureEngine started its own service, so it says how to reach its storage');
  const result = spawnSync('podman', [...cli.args, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...cli.env },
    timeout: 30_000,
  });
  if (!options.allowFailure) assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

interface PodmanInspect {
  State: { Pid: number };
  EffectiveCaps?: string[] | null;
  BoundingCaps?: string[] | null;
  Config: { User: string };
  HostConfig: {
    ReadonlyRootfs: boolean;
    SecurityOpt?: string[];
    Init?: boolean;
    Tmpfs?: Record<string, string>;
    PidsLimit?: number;
    Memory?: number;
  };
}

/** The probe listens a few milliseconds after the engine says running. */
async function fetchWhenUp(url: string): Promise<Response> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
