/**
 * herd's fleet controller on a real 2-node Docker Swarm (test/support/swarm-cluster.ts), wired as
 * the control plane wires it (admission of signed, released digests, the journal, a front door on
 * loopback, health from outside), with the SwarmEngine in place of podman:
 * - a fleet of 4 is placed by Swarm across both nodes;
 * - a rollout to a new digest under steady load through the front door fails no request;
 * - one node is killed (dockerd, containerd, its containers): its instances are replaced, and the
 *   fleet is whole again on the node left.
 * Run by `npm run test:swarm`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runLoad } from '../../bench/load.js';
import { SwarmEngine } from '../../src/engines/swarm/swarm-engine.js';
import { FleetController } from '../../src/fleet/controller.js';
import { template as fleetTemplate } from '../../src/fleet/controller.test-support.js';
import { FrontDoors } from '../../src/fleet/front-door.js';
import { HttpTcpProber } from '../../src/fleet/health-probe.js';
import type { FleetStatus } from '../../src/fleet/types.js';
import { controllerAdmission } from '../../src/pipeline/admit.js';
import { type FleetHome, fleetHome, service } from '../../src/pipeline/fleet-home.test-support.js';
import { journalFleetEvent } from '../../src/pipeline/journal-fleet-event.js';
import { rolloutImage } from '../../src/pipeline/rollout.js';
import { createApp } from '../../src/server/app.js';
import { type RunningServer, startServer } from '../../src/server/node-server.js';
import { type ProbeImages, writeProbeImages } from '../support/probe-image.js';
import { leftovers, type SwarmCluster, startSwarmCluster } from '../support/swarm-cluster.js';

const quiet = { info: () => {}, warn: () => {} };
const size = 4;

describe('a fleet on a 2-node swarm', () => {
  let cluster: SwarmCluster;
  let h: FleetHome;
  let server: RunningServer;
  let images: ProbeImages;
  let engine: SwarmEngine;
  let frontDoors: FrontDoors;
  let controller: FleetController;
  // Surge one at a time, never below the size: each new instance takes traffic before an old one drains.
  const template = fleetTemplate({
    size,
    strategy: {
      type: 'rolling',
      maxSurge: 1,
      maxUnavailable: 0,
      minReadySeconds: 1,
      progressDeadlineSeconds: 120,
      autoRevert: true,
    },
    stopGraceSeconds: 5,
    drainSeconds: 2,
  });

  before(async () => {
    cluster = await startSwarmCluster({ nodes: 2 });
    h = await fleetHome();
    images = await writeProbeImages(h.store);
    for (const digest of [images.probe, images.archived]) {
      await h.sign(digest, { run: template.run });
      await h.release(digest);
    }
    // herd's /v2/ on the bridge: the address the nodes reach this host at.
    server = await startServer({ app: createApp({ store: h.store }), port: 0, host: cluster.hostAddress });
    const registry = new URL(server.url).host;
    engine = new SwarmEngine({
      managerSocket: cluster.managerSocket,
      nodeSockets: Object.fromEntries(cluster.nodes.map((node) => [node.address, node.socketPath])),
    });
    frontDoors = new FrontDoors({ host: '127.0.0.1', drainTimeoutMs: 5_000, log: quiet });
    controller = new FleetController({
      engine,
      db: h.db,
      prober: new HttpTcpProber(),
      admit: controllerAdmission({ store: h.store, state: h.state, home: h.home }),
      imageRefFor: (name, digest) => `${registry}/${name}@${digest}`,
      frontDoor: frontDoors,
      record: (event) => journalFleetEvent(h.state.journal, event, { controlPlaneActor: h.state.actor }),
      resyncMs: 500,
      log: quiet,
    });
    controller.start();
  });

  after(async () => {
    await controller?.stop?.();
    for (const instance of (await engine?.list().catch(() => [])) ?? []) {
      await engine.remove(instance.id).catch(() => undefined);
    }
    await frontDoors?.closeAll();
    await server?.close();
    await cluster?.stop();
    await h?.close();
    if (cluster) assert.deepEqual(leftovers(cluster), []);
  });

  async function settled(check: (status: FleetStatus) => boolean, ms: number, what: string) {
    const deadline = Date.now() + ms;
    let last: FleetStatus | undefined;
    while (Date.now() < deadline) {
      last = await controller.status(service);
      if (check(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`${what} within ${ms} ms; last status ${JSON.stringify(last)}`);
  }

  async function nodesOf(digest: string) {
    const running = (await engine.list({ service })).filter(
      (one) => one.state === 'running' && one.digest === digest,
    );
    return running.map((one) => one.node ?? '?');
  }

  it('places the fleet across both nodes', async (t) => {
    await rolloutImage(
      { fleets: async () => controller, frontDoors },
      { service, digest: images.probe, template, actor: 'local:test' },
    );
    await settled(
      (status) => status.digest === images.probe && status.status === 'complete' && status.ready === size,
      120_000,
      'the first rollout did not complete',
    );

    const nodes = await nodesOf(images.probe);
    t.diagnostic(`placed on ${nodes.join(', ')}`);
    assert.equal(nodes.length, size);
    assert.deepEqual(
      [...new Set(nodes)].sort(),
      cluster.nodes.map((node) => node.hostname).sort(),
      `placed on ${nodes}`,
    );
  });

  it('rolls out a new digest under load through the front door with no failed request', async (t) => {
    const door = frontDoors.get(service);
    assert.ok(door, 'the front door is open');
    const stop = new AbortController();
    const loading = runLoad({
      url: `http://127.0.0.1:${door.port}/`,
      rate: 40,
      durationMs: 180_000,
      signal: stop.signal,
    });

    await rolloutImage(
      { fleets: async () => controller, frontDoors },
      { service, digest: images.archived, template, actor: 'local:test' },
    );
    await settled(
      (status) => status.digest === images.archived && status.status === 'complete' && status.ready === size,
      150_000,
      'the second rollout did not complete',
    );
    // A second more on the new revision alone.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stop.abort();
    const load = await loading;
    t.diagnostic(`${load.sent} requests, ${load.failed} failed, p99 ${Math.round(load.p99Ms)} ms`);

    assert.ok(load.sent > 100, `only ${load.sent} requests sent`);
    assert.equal(load.failed, 0, `failed requests: ${JSON.stringify(load.failures)}`);
    assert.deepEqual(await nodesOf(images.probe), [], 'no instance of the old digest runs');
    assert.equal(new Set(await nodesOf(images.archived)).size, 2, 'the new revision is on both nodes');
  });

  it('replaces the instances of a lost node on the node left', async (t) => {
    const lost = cluster.nodes[1];
    assert.ok(lost);
    const before = await nodesOf(images.archived);
    assert.ok(before.includes(lost.hostname), `nothing ran on ${lost.hostname}: ${before}`);

    await cluster.killNode(lost.index);
    // Whole again, and on the node left only: the lost node's instances are gone and replaced.
    const survivor = cluster.nodes[0]?.hostname;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = await controller.status(service);
      const nodes = await nodesOf(images.archived);
      if (status.ready === size && nodes.length === size && nodes.every((node) => node === survivor)) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the fleet was not whole on ${survivor} within 120 s: ${nodes}, ${JSON.stringify(status)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const after = await nodesOf(images.archived);
    t.diagnostic(`${before.join(', ')} became ${after.join(', ')}`);

    assert.equal(after.length, size);
    assert.deepEqual([...new Set(after)], [cluster.nodes[0]?.hostname], `running on ${after}`);
  });
});
