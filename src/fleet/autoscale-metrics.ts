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
  /** `door`'s backends by `host:port`, made once per reading (it is the next step's previous one). */
  backends: ReadonlyMap<string, FrontDoorLoad['backends'][number]>;
}

/** The readings of one step; `door` absent when no metric needs it or there is no door. */
export function readingsOf(
  cpu: ReadonlyMap<string, InstanceStats>,
  door: FrontDoorLoad | undefined,
): MetricReadings {
  const backends = new Map<string, FrontDoorLoad['backends'][number]>();
  for (const backend of door?.backends ?? []) backends.set(`${backend.host}:${backend.port}`, backend);
  return { cpu, door, backends };
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
  const observedOf = matcher(instances, observed);
  for (const [index, instance] of instances.entries()) {
    const one = observedOf(index);
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
  if (seen.size > instances.length || instances.length === 0) {
    const listed = new Set(instances.map((one) => one.id));
    for (const id of seen.keys()) if (!listed.has(id)) seen.delete(id);
  }
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
  const observedOf = matcher(instances, observed);
  const doorNow = current.backends;
  const doorBefore = previous.backends;
  const doorSeconds =
    current.door && previous.door ? (current.door.at - previous.door.at) / 1000 : Number.NaN;
  return instances.map((instance, index) => {
    const one = observedOf(index);
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

/**
 * The observed instance of `instances[index]`: the controller describes the engine's list in its
 * order, so by index, checked by id; by a map of ids only when the two lists do not line up.
 */
function matcher(
  instances: readonly Instance[],
  observed: readonly ObservedInstance[],
): (index: number) => ObservedInstance | undefined {
  const aligned =
    instances.length === observed.length && instances.every((one, index) => one.id === observed[index]?.id);
  if (aligned) return (index) => observed[index];
  const byId = new Map(observed.map((one) => [one.id, one]));
  return (index) => byId.get(instances[index]?.id ?? '');
}
