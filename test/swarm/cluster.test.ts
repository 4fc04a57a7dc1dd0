/**
 * The 2-node swarm of test/support/swarm-cluster.ts comes up in network namespaces, both nodes
 * ready, and goes leaving nothing behind. Run by `npm run test:swarm`, not `npm test`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Docker from 'dockerode';
import { leftovers, startSwarmCluster } from '../support/swarm-cluster.js';

describe('the test swarm', () => {
  it('brings up two ready nodes over the veth addresses and tears down without leftovers', async () => {
    const cluster = await startSwarmCluster({ nodes: 2 });
    try {
      const manager = new Docker({ socketPath: cluster.managerSocket });
      const nodes = (await manager.listNodes()) as {
        Description: { Hostname: string };
        Status: { State: string; Addr: string };
      }[];

      assert.deepEqual(nodes.map((node) => node.Status.State).sort(), ['ready', 'ready']);
      assert.deepEqual(
        nodes.map((node) => node.Status.Addr).sort(),
        cluster.nodes.map((node) => node.address).sort(),
      );
      assert.deepEqual(
        nodes.map((node) => node.Description.Hostname).sort(),
        cluster.nodes.map((node) => node.hostname).sort(),
      );
    } finally {
      await cluster.stop();
    }
    assert.deepEqual(leftovers(cluster), []);
  });
});
