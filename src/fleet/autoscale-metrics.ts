/**
 * The autoscaler's inputs, from two readings one sync period apart: what the engine's stats and the
 * front door's counters said then and now become each instance's sample (autoscale-replicas.ts's
 * `InstanceSample`). Pure: the readings and the time come in.
 *
 * - cpu: CPU seconds used between the two readings ÷ the seconds between them, in CPUs (0.35 is
 *   35% of one CPU); the decision divides it by the fleet's `resources.cpus`.
 * - requestsPerSecond: requests the front door sent the instance between the readings ÷ seconds.
 * - inFlightRequests: the average of its in-flight requests over the period (the integral of
 *   in-flight over time ÷ the time), not one glance at a gauge.
 * An instance the earlier reading did not have (new, or its counters started again) has no sample
 * for the period: unmeasured, which the decision treats conservatively.
 */
import type { Instance, InstanceStats } from '../engines/index.js';
import type { InstanceSample } from './autoscale-replicas.js';
import { isReady, type ObservedInstance } from './plan-rollout.js';
import type { FrontDoorLoad } from './types.js';

/** What was read at one step: CPU by instance id (only with a cpu metric), the door's counters. */
export interface MetricReadings {
  cpu: ReadonlyMap<string, InstanceStats>;
  door?: FrontDoorLoad | undefined;
}

/** When each instance's readiness last changed, as the autoscaler saw it (HPA's lastTransitionTime). */
export type ReadinessSeen = Map<string, { ready: boolean; changedAt: number }>;

/** Notes readiness changes since the last step; forgets instances no longer listed. */
export function trackReadiness(
  seen: ReadinessSeen,
  instances: readonly Instance[],
  observed: readonly ObservedInstance[],
  now: number,
): void {
  const byId = new Map(observed.map((one) => [one.id, one]));
  const listed = new Set<string>();
  for (const instance of instances) {
    listed.add(instance.id);
    const one = byId.get(instance.id);
    if (!one) continue;
    const ready = isReady(one);
    const before = seen.get(instance.id);
    if (before?.ready === ready) continue;
    // Turned ready: when it did, as the health checks say. Else: now, or its start if never seen ready.
    const changedAt = ready
      ? (one.readySince ?? now)
      : before === undefined
        ? (instance.startedAt ?? instance.createdAt)
        : now;
    seen.set(instance.id, { ready, changedAt });
  }
  for (const id of seen.keys()) if (!listed.has(id)) seen.delete(id);
}

export function instanceSamples(input: {
  instances: readonly Instance[];
  observed: readonly ObservedInstance[];
  readiness: ReadinessSeen;
  previous: MetricReadings;
  current: MetricReadings;
  now: number;
}): InstanceSample[] {
  const { instances, observed, readiness, previous, current, now } = input;
  const byId = new Map(observed.map((one) => [one.id, one]));
  const doorNow = backendsByAddress(current.door);
  const doorBefore = backendsByAddress(previous.door);
  const doorSeconds =
    current.door && previous.door ? (current.door.at - previous.door.at) / 1000 : Number.NaN;
  return instances.map((instance) => {
    const one = byId.get(instance.id);
    const phase = phaseOf(instance, one);
    const ready = one !== undefined && isReady(one);
    const sample: InstanceSample = { id: instance.id, phase, ready };
    if (phase !== 'running') return sample;
    if (instance.startedAt !== undefined) sample.startedAt = instance.startedAt;
    const changedAt = readiness.get(instance.id)?.changedAt;
    if (changedAt !== undefined) sample.readyChangedAt = changedAt;

    const cpuBefore = previous.cpu.get(instance.id);
    const cpuNow = current.cpu.get(instance.id);
    if (cpuBefore && cpuNow && cpuNow.at > cpuBefore.at && cpuNow.cpuSeconds >= cpuBefore.cpuSeconds) {
      const windowMs = cpuNow.at - cpuBefore.at;
      sample.cpu = {
        used: (cpuNow.cpuSeconds - cpuBefore.cpuSeconds) / (windowMs / 1000),
        at: now,
        windowMs,
      };
    }

    // Only what the door sends to: a backend it does not send to is unmeasured, not idle.
    const key = instance.address && `${instance.address.host}:${instance.address.port}`;
    const before = key === undefined ? undefined : doorBefore.get(key);
    const after = key === undefined ? undefined : doorNow.get(key);
    const counting = after !== undefined && before !== undefined && after.requests >= before.requests;
    if (ready && counting && doorSeconds > 0 && after.inFlightMs >= before.inFlightMs) {
      sample.requestsPerSecond = (after.requests - before.requests) / doorSeconds;
      sample.inFlightRequests = (after.inFlightMs - before.inFlightMs) / (doorSeconds * 1000);
    }
    return sample;
  });
}

/**
 * HPA's pod phases: made but not started is pending; an instance being replaced (condemned,
 * quarantined, held) or no longer running is leaving, counted nowhere.
 */
function phaseOf(instance: Instance, observed: ObservedInstance | undefined): InstanceSample['phase'] {
  if (instance.state === 'created') return 'pending';
  if (instance.state !== 'running') return 'leaving';
  if (observed?.condemned || observed?.quarantined || observed?.held) return 'leaving';
  return 'running';
}

function backendsByAddress(load: FrontDoorLoad | undefined): Map<string, FrontDoorLoad['backends'][number]> {
  return new Map((load?.backends ?? []).map((backend) => [`${backend.host}:${backend.port}`, backend]));
}
