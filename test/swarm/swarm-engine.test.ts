/**
 * SwarmEngine on a real 2-node Docker Swarm (test/support/swarm-cluster.ts): the Engine contract,
 * then what Swarm does with herd's hardening, checked on the real containers. The nodes pull the
 * probe image from herd's own /v2/, served on the bridge address they reach the host at.
 * Run by `npm run test:swarm`; a missing docker.io fails here with what to install.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { EngineError, type InstanceSpec } from '../../src/engines/engine.js';
import { describeEngineContract } from '../../src/engines/engine-contract.js';
import { SwarmEngine } from '../../src/engines/swarm/swarm-engine.js';
import { LayoutStore } from '../../src/oci/layout-store.js';
import { createApp } from '../../src/server/app.js';
import { type RunningServer, startServer } from '../../src/server/node-server.js';
import {
  type ProbeImages,
  probeListeningText,
  probePort,
  probeUser,
  writeProbeImages,
} from '../support/probe-image.js';
import { leftovers, type SwarmCluster, startSwarmCluster } from '../support/swarm-cluster.js';

interface Environment {
  work: string;
  cluster: SwarmCluster;
  server: RunningServer;
  images: ProbeImages;
  registry: string;
  engine: SwarmEngine;
}

let pending: Promise<Environment> | undefined;

function environment(): Promise<Environment> {
  pending ??= (async () => {
    const work = await mkdtemp(join(tmpdir(), 'herd-swarm-engine-'));
    const cluster = await startSwarmCluster({ nodes: 2 });
    try {
      const store = new LayoutStore(join(work, 'store'));
      await store.init();
      const images = await writeProbeImages(store);
      const server = await startServer({ app: createApp({ store }), port: 0, host: cluster.hostAddress });
      const engine = new SwarmEngine({
        managerSocket: cluster.managerSocket,
        nodeSockets: Object.fromEntries(cluster.nodes.map((node) => [node.address, node.socketPath])),
      });
      return { work, cluster, server, images, registry: new URL(server.url).host, engine };
    } catch (error) {
      await cluster.stop();
      await rm(work, { recursive: true, force: true });
      throw error;
    }
  })();
  return pending;
}

after(async () => {
  const env = await pending?.catch(() => undefined);
  if (!env) return;
  await env.server.close();
  await env.cluster.stop();
  await rm(env.work, { recursive: true, force: true });
  assert.deepEqual(leftovers(env.cluster), []);
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

/** The container an instance is, and its node's API. */
async function containerOf(env: Environment, id: string) {
  const onNode = await env.engine.onNode(id);
  const container = onNode.docker.getContainer(onNode.containerId);
  const inspected = (await container.inspect()) as unknown as {
    State: { Pid: number };
    GraphDriver: { Data: { UpperDir: string } };
    HostConfig: Record<string, unknown>;
  };
  return { ...onNode, container, inspected };
}

describeEngineContract('SwarmEngine on a 2-node swarm', async () => {
  const env = await environment();
  return {
    engine: env.engine,
    spec: (overrides) => specFor(env, overrides),
    exitingSpec: (overrides) => specFor(env, { digest: env.images.exiting, ...overrides }),
    logText: probeListeningText,
    imageFile: 'probe-server',
    addressHosts: env.cluster.nodes.map((node) => node.address),
    // Into the container's upper layer from the host, as someone with the node's storage could.
    async alter(id) {
      const { inspected } = await containerOf(env, id);
      await writeFile(join(inspected.GraphDriver.Data.UpperDir, 'planted'), 'planted by the contract test\n');
      return '/planted';
    },
    // Through the instance's root as the host sees it: the tmpfs at /tmp.
    async dropInTmp(id) {
      const { inspected } = await containerOf(env, id);
      await writeFile(`/proc/${inspected.State.Pid}/root/tmp/dropped`, '#!/bin/sh\n', { mode: 0o755 });
    },
    async exec(id) {
      const { container } = await containerOf(env, id);
      const exec = await container.exec({ Cmd: ['/probe-server'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      await new Promise((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.resume();
      });
    },
    workloadExecutable: '/probe-server',
    // At the node's address, where the instance's host-mode port answers.
    async burnCpu(instance, cpuMs) {
      const answer = await fetch(
        `http://${instance.address?.host}:${instance.address?.port}/spin?ms=${cpuMs}`,
      );
      assert.equal(await answer.text(), 'spun');
    },
    async startStray(id) {
      const { inspected } = await containerOf(env, id);
      const sleep = realpathSync('/usr/bin/sleep');
      const child = spawn('nsenter', ['-t', String(inspected.State.Pid), '-p', '--', sleep, '60'], {
        detached: true,
        stdio: 'ignore',
      });
      return {
        executable: sleep,
        stop: async () => {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        },
      };
    },
    debugCommand: ['/probe-server', 'echo'],
    patienceMs: 15_000,
    // A service with a herd service label, but not managed by herd: list must leave it out.
    async createForeign() {
      const spec = specFor(env, { service: 'contract-list-a' });
      await env.engine.ensureImage(spec);
      const manager = new Docker({ socketPath: env.cluster.managerSocket });
      const created = (await manager.createService({
        Name: 'foreign',
        Labels: { 'dev.herd.service': 'contract-list-a' },
        TaskTemplate: { ContainerSpec: { Image: spec.imageRef, User: '65532:65532' } },
        Mode: { Replicated: { Replicas: 1 } },
      })) as { id?: string; ID?: string };
      return (created.id ?? created.ID) as string;
    },
    async removeForeign(id) {
      await new Docker({ socketPath: env.cluster.managerSocket }).getService(id).remove();
    },
  };
});

describe('SwarmEngine hardening on real containers', () => {
  let env: Environment;

  before(async () => {
    env = await environment();
  });

  it('places an instance where its constraints say, and refuses one no node matches (CREATE)', async () => {
    const second = env.cluster.nodes[1];
    assert.ok(second);
    const spec = specFor(env, {
      service: 'placed',
      placement: { constraints: [`node.hostname==${second.hostname}`] },
    });
    await env.engine.ensureImage(spec);

    const instance = await env.engine.create(spec);
    try {
      assert.equal(instance.node, second.hostname);
      assert.equal(instance.address?.host, second.address);
      const nowhere = specFor(env, {
        service: 'nowhere',
        placement: { constraints: ['node.labels.zone==mars'] },
      });
      await env.engine.ensureImage(nowhere);
      await assert.rejects(
        env.engine.create(nowhere),
        (error: unknown) =>
          error instanceof EngineError && error.code === 'CREATE' && /no suitable node/.test(error.message),
      );
      assert.deepEqual(
        await env.engine.list({ service: 'nowhere' }),
        [],
        'nothing is left of the refused one',
      );
    } finally {
      await env.engine.remove(instance.id);
    }
  });

  it('runs read-only, without capabilities, as the spec user, with an init, dnsrr and a host-mode port; says no-new-privileges is not applied', async () => {
    const spec = specFor(env, { service: 'hardening' });
    await env.engine.ensureImage(spec);
    const instance = await env.engine.create(spec);
    try {
      const { inspected } = await containerOf(env, instance.id);
      const host = inspected.HostConfig;
      const manager = new Docker({ socketPath: env.cluster.managerSocket });
      const service = (await manager.getService(instance.id).inspect()) as {
        Endpoint: { Spec: { Mode: string; Ports: { PublishMode: string }[] } };
      };
      const mounts = await readFile(`/proc/${inspected.State.Pid}/mountinfo`, 'utf8');
      const tmp = mounts.split('\n').find((line) => line.split(' ')[4] === '/tmp') ?? '';
      const info = await env.engine.info();

      assert.equal(host.ReadonlyRootfs, true);
      assert.deepEqual(host.CapDrop, ['ALL']);
      assert.equal(host.Init, true);
      assert.equal(service.Endpoint.Spec.Mode, 'dnsrr');
      assert.deepEqual(
        service.Endpoint.Spec.Ports.map((port) => port.PublishMode),
        ['host'],
      );
      assert.match(tmp, /\bnoexec\b/, `the /tmp tmpfs: ${tmp}`);
      assert.match(tmp, /\bnosuid\b/);
      // Swarm 20.10 cannot ask for it: the container proves it, and info() says so.
      assert.ok(!((host.SecurityOpt as string[] | null) ?? []).includes('no-new-privileges'));
      assert.deepEqual(info.unapplied, ['no-new-privileges']);
      assert.equal(info.name, 'swarm');
      // Its first process (docker's init) already runs as the spec's user, not root.
      const status = await readFile(`/proc/${inspected.State.Pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65532\s/m);
    } finally {
      await env.engine.remove(instance.id);
    }
  });
});
