/** `herd status`'s view of one fleet: desired state, each instance's health, and the counts. */
import type { Instance } from '../engines/index.js';
import type { AutoscaleStatus } from './autoscale-step.js';
import type { StoredFleet } from './fleet-store.js';
import { isAvailable, isReady, type ObservedInstance } from './plan-rollout.js';
import type { FleetStatus } from './types.js';

export function describeFleet(
  fleet: StoredFleet,
  observed: {
    instances: readonly Instance[];
    health: readonly ObservedInstance[];
    now: number;
    degraded: boolean;
    /** `host:port` of what the front door sends to now, when it can say. */
    serving?: ReadonlySet<string>;
    /** The autoscaler's bounds and last decision, for an autoscaled fleet. */
    autoscale?: AutoscaleStatus;
    /** A blue-green fleet's old revision and the end of its bake (epoch ms), while it bakes. */
    bake?: { revision: string; until: number };
  },
): FleetStatus {
  const { minReadySeconds } = fleet.template.fleet.strategy;
  const rows = observed.health.map((one, index) => {
    const address = observed.instances[index]?.address;
    return {
      id: one.id,
      revision: one.revision,
      state: one.state,
      ready: isReady(one),
      available: isAvailable(one, minReadySeconds, observed.now),
      unhealthy: one.unhealthy,
      ...(one.condemned ? { condemned: true } : {}),
      ...(one.quarantined ? { quarantined: true } : {}),
      ...(observed.serving
        ? { serving: address !== undefined && observed.serving.has(`${address.host}:${address.port}`) }
        : {}),
      ...(one.untrusted ? { untrusted: true } : {}),
      ...(one.unverified ? { unverified: true } : {}),
      ...(address ? { address } : {}),
    };
  });
  return {
    service: fleet.service,
    revision: fleet.revision,
    digest: fleet.digest,
    size: fleet.size,
    status: fleet.status,
    degraded: observed.degraded,
    ...(fleet.paused
      ? { paused: { since: new Date(fleet.paused.at).toISOString(), actor: fleet.paused.actor } }
      : {}),
    ...(observed.autoscale ? { autoscale: observed.autoscale } : {}),
    ...(observed.bake
      ? { bake: { revision: observed.bake.revision, until: new Date(observed.bake.until).toISOString() } }
      : {}),
    instances: rows,
    ready: rows.filter((row) => row.ready).length,
    available: rows.filter((row) => row.available).length,
  };
}
