/**
 * bench/scale's simulation at a tiny size (20 nodes, 20 fleets × 10 instances), through the bench's
 * own code, so its invariant checks run in every test run; and those checks fed broken states, so
 * a check that could never fail would show here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundsCheckedEngine } from '../bench/support/bounds-checked-engine.js';
import {
  endStateViolations,
  fleetSpreadViolations,
  nodeLoadBound,
  nodeLoadViolations,
} from '../bench/support/fleet-invariants.js';
import { defaultScaleOptions, simulateScale } from '../bench/support/scale-simulation.js';
import type { InstanceSpec } from '../src/engines/index.js';

const digest = `sha256:${'a'.repeat(64)}` as const;

function specFor(service: string): InstanceSpec {
  return {
    service,
    revision: 'r1',
    digest,
    imageRef: `registry.example/${service}@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: {},
    writable: [],
    port: 8080,
    resources: { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 64 },
    stopGraceSeconds: 1,
  };
}

describe('bench/scale at a tiny size', () => {
  it('rolls every fleet out across the nodes with crashes and a node lost, every invariant held', async () => {
    const report = await simulateScale({
      ...defaultScaleOptions,
      nodes: 20,
      fleets: 20,
      size: 10,
      crashesPerSecond: 2,
      nodeLossAt: 2,
      quietPasses: 2,
      peerEvery: 0,
    });

    assert.deepEqual(report.violations, { bounds: [], spread: [], end: [] });
    assert.equal(report.setup.instances, 200);
    assert.ok(report.rollout.nodeLost, 'a node was lost');
    assert.ok(report.rollout.lostInstances > 0, 'the lost node held instances');
    assert.ok(report.rollout.crashes > 0);
    assert.equal(report.spread.upNodes, 19);
    assert.ok(report.rollout.created >= 200, `${report.rollout.created} creates: every instance replaced`);
    assert.ok(report.rollout.passes.every((pass) => pass.cpuMs >= 0 && pass.wallMs > 0));
  });
});

describe("bench/scale's invariant checks", () => {
  it('see a fleet above size + surge after a create, and a removal below size − unavailable', async () => {
    let now = 0;
    const engine = new BoundsCheckedEngine(
      { now: () => now, nodes: 4 },
      { sizeOf: () => 2, strategy: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 } },
    );
    const spec = specFor('web');
    await engine.ensureImage(spec);
    const made = [await engine.create(spec), await engine.create(spec), await engine.create(spec)];
    assert.deepEqual(engine.violations, []);
    for (const one of made) engine.markReady(one.id);
    now += 1000;

    await engine.create(spec);
    await engine.remove(made[0]?.id ?? '');
    await engine.remove(made[1]?.id ?? '');

    assert.match(engine.violations[0] ?? '', /web: 4 instances after a create, above size \+ surge 3/);
    assert.match(engine.violations[1] ?? '', /web: removing .* left 1 available, below size − unavailable 2/);
    assert.equal(engine.violations.length, 2);
  });

  it('do not count a crash or a lost node against the controller, but a removal below the floor after them', async () => {
    let now = 0;
    const engine = new BoundsCheckedEngine(
      { now: () => now, nodes: 2 },
      { sizeOf: () => 2, strategy: { maxSurge: 0, maxUnavailable: 0, minReadySeconds: 0 } },
    );
    const spec = specFor('web');
    await engine.ensureImage(spec);
    const [a, b] = [await engine.create(spec), await engine.create(spec)];
    engine.markReady(a.id);
    engine.markReady(b.id);
    now += 1000;

    engine.crash(a.id, 137);
    engine.failNode(b.node ?? '');
    assert.deepEqual(engine.violations, []);
    const c = await engine.create(spec);
    engine.markReady(c.id);
    await engine.create(spec);
    now += 1000;
    await engine.remove(c.id);

    assert.equal(engine.violations.length, 1);
    assert.match(engine.violations[0] ?? '', /web: removing .* left 0 available, below size − unavailable 1/);
  });

  it('see a node holding more of a fleet than its share, or an instance on a node that is down', () => {
    const nodes = [
      { name: 'n1', up: true, instances: 2 },
      { name: 'n2', up: true, instances: 0 },
      { name: 'n3', up: false, instances: 0 },
    ];

    const found = fleetSpreadViolations(nodes, [
      {
        service: 'web',
        maxTotal: 2,
        live: [
          { id: 'a', node: 'n1' },
          { id: 'b', node: 'n1' },
          { id: 'c', node: 'n3' },
        ],
      },
    ]);

    assert.deepEqual(found, [
      'web: n1 holds more than 1 of its instances, its share of 2 over 2 nodes',
      'web: c is live on n3, not on a node that is up',
    ]);
  });

  it('bound a node by the emptiest node a fleet could have had, and see a node above it', () => {
    // 10 nodes up, two fleets of at most 5: a placement chose among at least 6 nodes holding
    // at most 9 instances together, so the emptiest held at most 1, and 2 once it got the new one.
    const bound = nodeLoadBound(10, [{ maxTotal: 5 }, { maxTotal: 5 }]);

    assert.equal(bound, 2);
    assert.equal(nodeLoadBound(4, [{ maxTotal: 5 }]), undefined);
    assert.deepEqual(
      nodeLoadViolations(
        [
          { name: 'n1', up: true, instances: 3 },
          { name: 'n2', up: false, instances: 9 },
          { name: 'n3', up: true, instances: 2 },
        ],
        2,
      ),
      ["n1 holds 3 instances, above the spread's bound of 2"],
    );
  });

  it('see a fleet that did not end complete on the new revision at its size', () => {
    const found = endStateViolations(
      [
        { service: 'ok', status: 'complete', revision: 'r2', size: 1, live: [{ id: 'a', revision: 'r2' }] },
        {
          service: 'reverted',
          status: 'complete',
          revision: 'r1',
          size: 1,
          live: [{ id: 'b', revision: 'r1' }],
        },
        {
          service: 'short',
          status: 'complete',
          revision: 'r2',
          size: 2,
          live: [{ id: 'c', revision: 'r2' }],
        },
      ],
      () => 'r2',
    );

    assert.deepEqual(found, [
      'reverted: ends complete on r1, expected complete on r2',
      'reverted: ends with 1 live instances, 0 of r2, expected 1, all of it',
      'short: ends with 1 live instances, 1 of r2, expected 2, all of it',
    ]);
  });
});
