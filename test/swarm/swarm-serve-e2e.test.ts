/**
 * `herd serve` driving the 2-node swarm: the spec built from a signed fixture repository, gated,
 * signed and released through the CLI; then `herd serve --host <bridge address>` with
 * HERD_SWARM_MANAGER and HERD_SWARM_NODES, and `herd rollout`: the nodes pull from its /v2/, the
 * instances run across both nodes and its front door serves them. Run by `npm run test:swarm`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SwarmEngine } from '../../src/engines/swarm/swarm-engine.js';
import { unwrap } from '../../src/server/api-client.js';
import type { FixtureRepo } from '../fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from '../support/build-harness.js';
import { runHerd } from '../support/cli.js';
import { localApi } from '../support/control-plane-api.js';
import { probeRepo, probeSpecText, type RunningHerd, startHerd } from '../support/herd-process.js';
import { leftovers, type SwarmCluster, startSwarmCluster } from '../support/swarm-cluster.js';

const size = 2;
const keyPassword = 'swarm-serve-test-password';

interface Status {
  revision: string;
  status: string;
  ready: number;
}

describe('herd serve on a 2-node swarm', () => {
  let cluster: SwarmCluster;
  let repo: FixtureRepo;
  let home: string;
  let serve: RunningHerd | undefined;
  let engine: SwarmEngine;
  let swarmEnv: Record<string, string>;
  const herd = (args: string[]) =>
    runHerd(args, { home, env: { HERD_KEY_PASSWORD: keyPassword, ...swarmEnv } });

  before(async () => {
    cluster = await startSwarmCluster({ nodes: 2 });
    swarmEnv = {
      HERD_SWARM_MANAGER: cluster.managerSocket,
      HERD_SWARM_NODES: cluster.nodes.map((node) => `${node.address}=${node.socketPath}`).join(','),
    };
    engine = new SwarmEngine({
      managerSocket: cluster.managerSocket,
      nodeSockets: Object.fromEntries(cluster.nodes.map((node) => [node.address, node.socketPath])),
    });
    repo = await probeRepo();
    home = await freshHome();
  });

  after(async () => {
    const child = serve?.child;
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // herd serve leaves fleets running by design.
    for (const instance of (await engine?.list().catch(() => [])) ?? []) {
      await engine.remove(instance.id).catch(() => undefined);
    }
    await cluster?.stop();
    await repo?.close();
    if (cluster) assert.deepEqual(leftovers(cluster), []);
  });

  it('rolls a built, signed and released spec out across both nodes and serves it at its front door', async (t) => {
    const dir = await writeSpecDir({
      'herd.yaml': probeSpecText(repo, { size, env: { GREETING: 'from the swarm', HEALTHY: '1' } }),
    });
    for (const args of [['keys', 'generate']]) {
      const step = herd(args);
      assert.equal(step.status, 0, `${args.join(' ')}: ${step.err}`);
    }
    const build = herd(['build', dir, '--json']);
    assert.equal(build.status, 0, build.err);
    const digest = JSON.parse(build.out).digest as string;
    for (const args of [
      ['sign', digest],
      ['release', 'probe', digest, '--stage', 'candidate'],
    ]) {
      const step = herd(args);
      assert.equal(step.status, 0, `${args.join(' ')}: ${step.err}`);
    }

    serve = startHerd(['serve', '--host', cluster.hostAddress, '--port', '0'], home, {
      HERD_KEY_PASSWORD: keyPassword,
      ...swarmEnv,
    });
    await serve.waitFor(/fleet API at/, 60_000);
    const rollout = herd(['rollout', 'probe', digest, '--spec', dir]);
    assert.equal(rollout.status, 0, `${rollout.out}\n${rollout.err}\n${serve.output()}`);

    const deadline = Date.now() + 120_000;
    let status: Status | undefined;
    for (;;) {
      status = (await unwrap(
        localApi(home).fleets[':service'].$get({ param: { service: 'probe' } }),
      )) as Status;
      if (status.status === 'complete' && status.ready === size) break;
      if (Date.now() > deadline) throw new Error(`not ready: ${JSON.stringify(status)}\n${serve.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const running = (await engine.list({ service: 'probe' })).filter((one) => one.state === 'running');
    const shown = herd(['status', 'probe']);
    const door = /front door\s+(http:\/\/\S+?)\/?\s/.exec(shown.out)?.[1];
    t.diagnostic(`on ${running.map((one) => one.node).join(', ')}; front door ${door}`);

    assert.equal(running.length, size);
    assert.equal(new Set(running.map((one) => one.node)).size, 2, 'one instance on each node');
    assert.ok(
      running.every((one) => cluster.nodes.some((node) => node.address === one.address?.host)),
      'addresses on the nodes',
    );
    assert.ok(door, `no front door in herd status: ${shown.out}`);
    const answer = await fetch(`${door}/`);
    assert.equal(await answer.text(), 'from the swarm');
  });
});
