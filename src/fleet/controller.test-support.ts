/** A controller over MemoryEngine, an in-memory herd.db, a fake clock, a fake prober and front door. */
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import { defaultFleetSection, type FleetSection } from '../specfile/fleet-section.js';
import type { RunTemplate } from '../specfile/run-template.js';
import { openStateDb } from '../state/open-state-db.js';
import { FleetController, type FleetControllerOptions } from './controller.js';
import type { FleetEvent, FleetTemplate, FrontDoorHook, InstanceAddress } from './types.js';

export const digestA = `sha256:${'a'.repeat(64)}` as const;
export const digestB = `sha256:${'b'.repeat(64)}` as const;
export const digestC = `sha256:${'c'.repeat(64)}` as const;

import { FakeClock } from '../common/clock.test-support.js';

export { FakeClock };

/** Records what the controller tells the front door; `minServing` is the fewest backends ever set. */
export class FakeFrontDoor implements FrontDoorHook {
  backends: InstanceAddress[] = [];
  drained: InstanceAddress[] = [];
  minServing = Number.POSITIVE_INFINITY;

  setBackends(_service: string, addresses: readonly InstanceAddress[]): void {
    this.backends = [...addresses];
    this.minServing = Math.min(this.minServing, addresses.length);
  }

  async drain(_service: string, address: InstanceAddress): Promise<void> {
    this.drained.push(address);
  }

  /** As the real front door: a drained address gets no new requests, whatever the list says. */
  serving(): InstanceAddress[] {
    return this.backends.filter((one) => !this.drained.some((gone) => gone.port === one.port));
  }
}

/** A fleet's template; `run` overrides parts of its run template (writable paths, user…). */
export function template(
  fleet: Partial<FleetSection> = {},
  intervalSeconds = 1,
  run: Partial<RunTemplate> = {},
): FleetTemplate {
  return {
    version: 1,
    run: {
      version: 1,
      user: { uid: 65532, gid: 65532 },
      writable: ['/tmp'],
      writableRoot: false,
      capabilities: [],
      ports: [{ port: 8080, protocol: 'tcp' }],
      entrypoint: ['/usr/bin/server'],
      cmd: [],
      env: ['GREETING'],
      health: { kind: 'http', path: '/healthz', port: 8080, intervalSeconds, timeoutSeconds: 1, retries: 1 },
      ...run,
    },
    fleet: { ...defaultFleetSection, size: 4, ...fleet },
    port: 8080,
    env: { GREETING: 'hi' },
  };
}

export function fleetHarness(overrides: Partial<FleetControllerOptions> = {}) {
  const clock = new FakeClock();
  const engine = new MemoryEngine({ now: () => clock.now() });
  const db = openStateDb(':memory:');
  /** Digests whose instances fail every health check. */
  const failing = new Set<string>();
  /** Digests admission refuses. */
  const refused = new Set<string>();
  const frontDoor = new FakeFrontDoor();
  const events: FleetEvent[] = [];
  const options = (): FleetControllerOptions => ({
    engine,
    db,
    clock,
    frontDoor,
    resyncMs: 1000,
    prober: {
      check: async (address) => {
        const instance = (await engine.list()).find((one) => one.address?.port === address.port);
        return instance !== undefined && !failing.has(instance.digest);
      },
    },
    admit: async (_service, digest) => {
      if (refused.has(digest)) throw new Error(`digest ${digest} is revoked`);
    },
    imageRefFor: (service, digest) => `127.0.0.1:5001/${service}@${digest}`,
    record: (event) => {
      events.push(event);
    },
    ...overrides,
  });
  const harness = {
    clock,
    engine,
    db,
    failing,
    refused,
    frontDoor,
    events,
    controller: new FleetController(options()),
    /** A new controller over the same engine and database, as after a crash of herd serve. */
    restart(changes: Partial<FleetControllerOptions> = {}) {
      harness.controller = new FleetController({ ...options(), ...changes });
    },
    /** Syncs once a simulated second, running `watch` after each sync, until `done` or `maxSeconds`. */
    async runUntil(
      done: () => boolean | Promise<boolean>,
      options: { maxSeconds?: number; watch?: () => Promise<void> } = {},
    ) {
      for (let second = 0; second < (options.maxSeconds ?? 600); second++) {
        await harness.controller.sync();
        await options.watch?.();
        if (await done()) return second;
        clock.advance(1000);
      }
      throw new Error(`not done after ${options.maxSeconds ?? 600} simulated seconds`);
    },
    async statusIs(revision: string, status = 'complete') {
      const now = await harness.controller.status('web');
      return now.revision === revision && now.status === status;
    },
    /** Rolls revision r1 (digest A) out to a fresh fleet and waits until it completes. */
    async settledOnA(fleet: Partial<FleetSection> = {}) {
      await harness.controller.rollout(
        'web',
        { revision: 'r1', digest: digestA },
        { template: template(fleet) },
      );
      await harness.runUntil(() => harness.statusIs('r1'));
    },
  };
  return harness;
}
