/**
 * rolloutImage and rollbackFleet as the control plane wires them: a fleet controller over the
 * memory engine and herd.db in a temporary HERD_HOME, admission by admitImage on a real store, the
 * journal by journalFleetEvent and real front doors on loopback.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock } from '../common/clock.test-support.js';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import { FleetController } from '../fleet/controller.js';
import { FrontDoors } from '../fleet/front-door.js';
import type { FleetTemplate } from '../fleet/types.js';
import { shortDigest } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import { TrustError } from '../trust/errors.js';
import { controllerAdmission } from './admit.js';
import { type FleetHome, fleetHome, fleetTemplate, service, signedRun } from './fleet-home.test-support.js';
import { journalFleetEvent } from './journal-fleet-event.js';
import { rollbackFleet, rolloutImage, scaleFleet } from './rollout.js';

const quiet = { info: () => {}, warn: () => {} };

describe('rolloutImage and rollbackFleet', () => {
  let h: FleetHome;
  let clock: FakeClock;
  let engine: MemoryEngine;
  let frontDoors: FrontDoors;
  let controller: FleetController;
  let parts: Parameters<typeof rolloutImage>[0];
  /** Digests whose instances fail every health check. */
  let unhealthy: Set<string>;

  beforeEach(async () => {
    h = await fleetHome();
    clock = new FakeClock();
    engine = new MemoryEngine({ now: () => clock.now() });
    unhealthy = new Set();
    frontDoors = new FrontDoors({ host: '127.0.0.1', drainTimeoutMs: 1_000, log: quiet });
    controller = new FleetController({
      engine,
      db: h.db,
      clock,
      prober: {
        check: async (address) =>
          (await engine.list()).some(
            (one) => one.address?.port === address.port && !unhealthy.has(one.digest),
          ),
      },
      admit: controllerAdmission({ store: h.store, state: h.state, home: h.home }),
      imageRefFor: (name, digest) => `127.0.0.1:5000/${name}@${digest}`,
      frontDoor: frontDoors,
      record: (event) => journalFleetEvent(h.state.journal, event, { controlPlaneActor: h.state.actor }),
    });
    parts = { fleets: async () => controller, frontDoors };
  });
  afterEach(async () => {
    await frontDoors.closeAll();
    await h.close();
  });

  /** Syncs once a simulated second until the fleet's rollout of `digest` ended with `status`. */
  async function settledOn(digest: Digest, status: 'complete' | 'failed' = 'complete') {
    for (let second = 0; second < 300; second++) {
      await controller.sync();
      const now = await controller.status(service);
      if (now.digest === digest && now.status === status) return now;
      clock.advance(1000);
    }
    throw new Error(`the rollout of ${digest} did not end ${status} in 300 simulated seconds`);
  }

  async function runningDigests() {
    return new Set((await engine.list()).filter((one) => one.state === 'running').map((one) => one.digest));
  }

  it('rolls an admitted digest out: desired state stored, journaled with who asked, instances run', async () => {
    const digest = await h.admissibleImage('v1');

    const started = await rolloutImage(parts, {
      service,
      digest,
      template: fleetTemplate,
      actor: 'token:ci:1',
    });

    assert.deepEqual(started, { service, revision: shortDigest(digest), digest });
    assert.deepEqual(controller.templateOf(service), fleetTemplate);
    const [entry, ...more] = h.entries('rollout');
    assert.equal(more.length, 0);
    assert.equal(entry?.actor, 'token:ci:1');
    assert.equal(entry?.digest, digest);
    assert.equal(entry?.details.event, 'rollout-started');
    assert.equal(entry?.details.reason, 'rollout');
    assert.ok(frontDoors.get(service), 'the front door is open');
    const status = await settledOn(digest);
    assert.equal(status.ready, fleetTemplate.fleet.size);
    assert.deepEqual(await runningDigests(), new Set([digest]));
  });

  const refusals: { name: string; code: string; make: () => Promise<Digest>; template?: FleetTemplate }[] = [
    { name: 'an unsigned digest', code: 'UNSIGNED', make: () => h.writeImage('v1') },
    {
      name: 'a revoked digest',
      code: 'REVOKED',
      make: async () => {
        const digest = await h.admissibleImage('v1');
        h.state.catalog.revoke(service, digest, { reason: 'leaked key', actor: 'local:alice' });
        return digest;
      },
    },
    {
      name: 'a digest whose signed verdict failed',
      code: 'GATE_FAILED',
      make: async () => {
        const digest = await h.writeImage('v1');
        await h.sign(digest, { passed: false });
        await h.release(digest);
        return digest;
      },
    },
    {
      name: 'a template other than the signed run template',
      code: 'TEMPLATE_MISMATCH',
      make: () => h.admissibleImage('v1'),
      template: { ...fleetTemplate, run: { ...signedRun, capabilities: ['NET_ADMIN'] } },
    },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} (${refusal.code}), journaled, with no fleet, instance or front door left`, async () => {
      const digest = await refusal.make();

      const rollout = rolloutImage(parts, {
        service,
        digest,
        template: refusal.template ?? fleetTemplate,
        actor: 'token:ci:1',
      });

      await assert.rejects(
        rollout,
        (error: unknown) => error instanceof TrustError && error.code === 'ADMISSION_REFUSED',
      );
      const refused = h.entries('admission-refused');
      assert.deepEqual(
        refused.map((entry) => [entry.actor, entry.digest, entry.details.code]),
        [['token:ci:1', digest, refusal.code]],
      );
      assert.deepEqual(h.entries('rollout'), []);
      assert.equal(controller.templateOf(service), undefined);
      assert.equal(frontDoors.get(service), undefined);
      await controller.sync();
      assert.deepEqual(await engine.list(), []);
    });
  }

  it('admits a later digest against the stored template when none is sent, and keeps the fleet on a refusal', async () => {
    const first = await h.admissibleImage('v1');
    await rolloutImage(parts, { service, digest: first, template: fleetTemplate });
    await settledOn(first);
    const changed = await h.writeImage('v2');
    await h.sign(changed, { run: { ...signedRun, writableRoot: true } });
    await h.release(changed);
    const second = await h.admissibleImage('v3');

    await assert.rejects(rolloutImage(parts, { service, digest: changed }), { code: 'ADMISSION_REFUSED' });
    const started = await rolloutImage(parts, { service, digest: second });

    assert.deepEqual(
      h.entries('admission-refused').map((entry) => [entry.actor, entry.details.code]),
      [['local:control-plane', 'TEMPLATE_MISMATCH']],
    );
    assert.equal(started.digest, second);
    assert.ok(frontDoors.get(service), 'a refused rollout of a running fleet leaves its front door open');
    await settledOn(second);
    assert.deepEqual(await runningDigests(), new Set([second]));
  });

  it('rolls back to the digest that completed before, journaled as a rollback by who asked', async () => {
    const first = await h.admissibleImage('v1');
    const second = await h.admissibleImage('v2');
    await rolloutImage(parts, { service, digest: first, template: fleetTemplate });
    await settledOn(first);
    await rolloutImage(parts, { service, digest: second });
    await settledOn(second);

    const back = await rollbackFleet(parts, { service, actor: 'local:alice' });

    assert.deepEqual(back, { service, revision: shortDigest(first), digest: first });
    const rollback = h.entries('rollout').find((entry) => entry.details.reason === 'rollback');
    assert.equal(rollback?.actor, 'local:alice');
    assert.equal(rollback?.digest, first);
    await settledOn(first);
    assert.deepEqual(await runningDigests(), new Set([first]));
  });

  it('journals the autoscaler’s decisions with their inputs in the chain, and says a manual scale of an autoscaled fleet is the autoscaler’s to change', async () => {
    const digest = await h.admissibleImage('v1');
    const autoscaled: FleetTemplate = {
      ...fleetTemplate,
      fleet: {
        ...fleetTemplate.fleet,
        resources: { ...fleetTemplate.fleet.resources, cpus: 1 },
        autoscale: {
          min: 2,
          max: 6,
          metrics: [{ kind: 'cpu', averageUtilization: 50 }],
          syncPeriodSeconds: 15,
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0 },
            scaleDown: { stabilizationWindowSeconds: 300 },
          },
        },
      },
    };
    await rolloutImage(parts, { service, digest, template: autoscaled });
    await settledOn(digest);
    for (const instance of await engine.list({ service })) engine.setCpuLoad(instance.id, 1);
    for (let second = 0; second < 45 && h.entries('scale').length === 0; second++) {
      clock.advance(1000);
      await controller.sync();
    }

    const [decided] = h.entries('scale');
    assert.equal(decided?.details.event, 'autoscaled');
    assert.equal(decided?.actor, h.state.actor, 'the control plane acted on its own');
    const decision = decided?.details.decision as {
      from: number;
      to: number;
      metrics: { current: number }[];
    };
    assert.equal(decision.from, 2);
    assert.equal(decision.to, 4, 'ceil(2 × 100 / 50) = 4');
    assert.equal(decision.metrics[0]?.current, 100);
    assert.equal(h.state.journal.verify().ok, true);
    const scaled = await scaleFleet(parts, { service, size: 3, actor: 'local:alice' });
    assert.deepEqual(scaled, { service, size: 3, autoscale: { min: 2, max: 6 } });
  });

  it('scales the fleet, journaled as a scale by who asked, and runs the new size', async () => {
    const digest = await h.admissibleImage('v1');
    await rolloutImage(parts, { service, digest, template: fleetTemplate });
    await settledOn(digest);

    const scaled = await scaleFleet(parts, { service, size: 3, actor: 'token:ci:0123456789abcdef' });

    assert.deepEqual(scaled, { service, size: 3 });
    const [scale] = h.entries('scale');
    assert.equal(scale?.actor, 'token:ci:0123456789abcdef');
    assert.equal(scale?.service, service);
    assert.equal(scale?.details.to, 3);
    for (let second = 0; second < 60 && (await runningCount()) !== 3; second++) {
      await controller.sync();
      clock.advance(1000);
    }
    assert.equal(await runningCount(), 3);
  });

  async function runningCount() {
    return (await engine.list()).filter((one) => one.state === 'running').length;
  }

  it('refuses to roll back to a digest revoked since, and the fleet stays where it is', async () => {
    const first = await h.admissibleImage('v1');
    const second = await h.admissibleImage('v2');
    await rolloutImage(parts, { service, digest: first, template: fleetTemplate });
    await settledOn(first);
    await rolloutImage(parts, { service, digest: second });
    await settledOn(second);
    h.state.catalog.revoke(service, first, { reason: 'leaked key', actor: 'local:alice' });

    await assert.rejects(rollbackFleet(parts, { service, actor: 'local:alice' }), {
      code: 'ADMISSION_REFUSED',
    });

    assert.deepEqual(
      h.entries('admission-refused').map((entry) => [entry.actor, entry.digest, entry.details.code]),
      [['local:alice', first, 'REVOKED']],
    );
    assert.equal((await controller.status(service)).digest, second);
    assert.deepEqual(await runningDigests(), new Set([second]));
  });

  it("reverts a digest whose health never passes on the controller's own, journaled as the control plane", async () => {
    const good = await h.admissibleImage('v1');
    const bad = await h.admissibleImage('v2');
    await rolloutImage(parts, { service, digest: good, template: fleetTemplate });
    await settledOn(good);
    unhealthy.add(bad);

    await rolloutImage(parts, { service, digest: bad, actor: 'local:alice' });
    await settledOn(good);

    const reverted = h.entries('rollout').find((entry) => entry.details.reason === 'revert');
    assert.equal(reverted?.actor, 'local:control-plane');
    assert.equal(reverted?.digest, good);
    assert.deepEqual(await runningDigests(), new Set([good]));
  });

  it('does not revert to a digest revoked since: the same admission refuses it, journaled as the control plane', async () => {
    const good = await h.admissibleImage('v1');
    const bad = await h.admissibleImage('v2');
    await rolloutImage(parts, { service, digest: good, template: fleetTemplate });
    await settledOn(good);
    unhealthy.add(bad);
    h.state.catalog.revoke(service, good, { reason: 'leaked key', actor: 'local:alice' });

    await rolloutImage(parts, { service, digest: bad, actor: 'local:alice' });
    await settledOn(bad, 'failed');

    assert.deepEqual(
      h.entries('admission-refused').map((entry) => [entry.actor, entry.digest, entry.details.code]),
      [['local:control-plane', good, 'REVOKED']],
    );
    assert.equal(
      h.entries('rollout').some((entry) => entry.details.reason === 'revert'),
      false,
    );
  });
});
