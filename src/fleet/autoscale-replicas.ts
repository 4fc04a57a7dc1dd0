/**
 * One metric's proposal for a fleet's size, as the Kubernetes HPA's replica calculator makes it
 * (pkg/controller/podautoscaler/replica_calculator.go: groupPods, GetResourceReplicas,
 * calcPlainMetricReplicas; metrics/utilization.go). Pure: the samples and the time come in.
 *
 * usage ratio = current average / target; within the tolerance ([0.9, 1.1]) the size stays, else
 * it is ceil(ratio × instances measured). Instances that cannot be measured fairly are treated
 * conservatively: on a scale-up a not-ready or unmeasured instance counts as using nothing, on a
 * scale-down an unmeasured one counts as using its target (for CPU, all of its limit), and when
 * that recomputation would turn the direction round or land within the tolerance, the size stays.
 */
import type { AutoscaleMetric } from '../specfile/index.js';

/** HPA's default `--horizontal-pod-autoscaler-tolerance`: no change while the ratio is within 1 ± 0.1. */
export const autoscaleTolerance = 0.1;
/** HPA's `--horizontal-pod-autoscaler-cpu-initialization-period`: a new instance's CPU is suspect this long. */
export const cpuInitializationMs = 5 * 60_000;
/** HPA's `--horizontal-pod-autoscaler-initial-readiness-delay`: readiness may flap this long after start. */
export const initialReadinessDelayMs = 30_000;

/** What the autoscaler is told about one instance of the fleet. */
export interface InstanceSample {
  id: string;
  /**
   * HPA's pod phase: `pending` (made, not running yet), `running`, or `leaving` (being removed, or
   * exited: HPA's deleted or failed pods, counted nowhere).
   */
  phase: 'pending' | 'running' | 'leaving';
  /** Passing its health checks now (HPA's Ready condition). */
  ready: boolean;
  /** Epoch ms it started running; absent while pending. */
  startedAt?: number;
  /** Epoch ms its readiness last changed (the condition's lastTransitionTime); absent before any check. */
  readyChangedAt?: number;
  /** CPU it used, in CPUs (0.35: 35% of one CPU), over `windowMs` ending at `at`, from the engine's stats. */
  cpu?: { used: number; at: number; windowMs: number };
  /**
   * Requests per second the front door sent it, and requests in flight at the front door. Absent for
   * an instance the front door does not send to (not ready): then it is unmeasured, as HPA treats a
   * pod with no sample, rather than an idle instance that would pull the average down.
   */
  requestsPerSecond?: number;
  inFlightRequests?: number;
}

export type MetricKind = AutoscaleMetric['kind'];

/** What one metric proposed, with what it saw: journaled with the decision. */
export type MetricProposal =
  | {
      kind: 'proposal';
      metric: MetricKind;
      /** The target: percent of the CPU limit for `cpu`, a per-instance average otherwise. */
      target: number;
      /** The current value in the target's unit: whole percent for `cpu`, an average otherwise. */
      current: number;
      /** current / target, before the conservative recomputation. */
      ratio: number;
      /** The ratio after not-ready and unmeasured instances were filled in; absent when none were. */
      adjustedRatio?: number;
      /** The size this metric asks for. */
      replicas: number;
      outcome: ProposalOutcome;
      /** Instances measured, not ready (or pending), and running but unmeasured. */
      counted: { measured: number; notReady: number; unmeasured: number };
    }
  | { kind: 'invalid'; metric: MetricKind; target: number; message: string };

export type ProposalOutcome =
  /** The ratio is within the tolerance: the size stays. */
  | 'within-tolerance'
  /** ceil(ratio × measured instances). */
  | 'computed'
  /** Filling in the unmeasured instances landed within the tolerance or turned the direction round. */
  | 'direction-held';

export interface ProposalInput {
  /** The fleet's size now (HPA's spec.replicas). */
  size: number;
  instances: readonly InstanceSample[];
  /** Each instance's CPU limit, in CPUs (the fleet's `resources.cpus`): what utilization is a percent of. */
  cpuLimit: number;
  now: number;
}

/** How HPA sorts the instances before it measures (groupPods). */
interface Groups {
  /** Measured instances by id, in milli-units (HPA's PodMetricsInfo). */
  values: Map<string, number>;
  readyCount: number;
  notReady: string[];
  unmeasured: string[];
}

export function proposeReplicas(metric: AutoscaleMetric, input: ProposalInput): MetricProposal {
  const groups = groupInstances(metric.kind, input);
  const target = metric.kind === 'cpu' ? metric.averageUtilization : metric.averageValue;
  if (groups.values.size === 0) {
    return {
      kind: 'invalid',
      metric: metric.kind,
      target,
      message: `no ${metric.kind} sample from any ready instance (${input.instances.length} instances)`,
    };
  }
  return metric.kind === 'cpu'
    ? resourceReplicas(metric.averageUtilization, groups, input)
    : plainReplicas(metric.kind, metric.averageValue, groups, input.size);
}

/** The tolerance band, as HPA's Tolerances.isWithin: inclusive at both ends. */
export function isWithinTolerance(ratio: number, tolerance = autoscaleTolerance): boolean {
  return 1 - tolerance <= ratio && ratio <= 1 + tolerance;
}

function groupInstances(kind: MetricKind, input: ProposalInput): Groups {
  const groups: Groups = { values: new Map(), readyCount: 0, notReady: [], unmeasured: [] };
  for (const instance of input.instances) {
    if (instance.phase === 'leaving') continue;
    if (instance.phase === 'pending') {
      groups.notReady.push(instance.id);
      continue;
    }
    const value = milliValueOf(kind, instance);
    if (value === undefined) {
      groups.unmeasured.push(instance.id);
      continue;
    }
    // Only CPU distrusts a not-ready instance's sample: a starting process burns CPU it will not keep.
    if (kind === 'cpu' && cpuSampleSuspect(instance, input.now)) {
      groups.notReady.push(instance.id);
      continue;
    }
    groups.values.set(instance.id, value);
    groups.readyCount++;
  }
  return groups;
}

/**
 * HPA's readiness rule for CPU samples: within the initialization period a sample counts only from a
 * ready instance and only when a whole window of it was taken after it turned ready; later, only a
 * sample of an instance that has never been ready (it turned not-ready within the initial delay) is left out.
 */
function cpuSampleSuspect(instance: InstanceSample, now: number): boolean {
  const { startedAt, readyChangedAt, cpu } = instance;
  if (startedAt === undefined || readyChangedAt === undefined || cpu === undefined) return true;
  if (startedAt + cpuInitializationMs > now) {
    return !instance.ready || cpu.at < readyChangedAt + cpu.windowMs;
  }
  return !instance.ready && startedAt + initialReadinessDelayMs > readyChangedAt;
}

/**
 * Samples in milli-units, as HPA's quantities (MilliValue): integers, so the averages truncate as
 * HPA's int64 division does. Rounded, because our samples are floats (0.35 × 1000 is 350.00000000000006).
 */
function milliValueOf(kind: MetricKind, instance: InstanceSample): number | undefined {
  const value =
    kind === 'cpu'
      ? instance.cpu?.used
      : kind === 'requestsPerSecond'
        ? instance.requestsPerSecond
        : instance.inFlightRequests;
  return value === undefined ? undefined : toMilli(value);
}

function toMilli(value: number): number {
  return Math.round(value * 1000);
}

/** GetResourceUtilizationRatio: whole percent of the limit, truncated, then over the target percent. */
function utilizationOf(values: Map<string, number>, limitMilli: number, target: number) {
  let total = 0;
  for (const value of values.values()) total += value;
  const requests = limitMilli * values.size;
  const utilization = Math.trunc((total * 100) / requests);
  return { utilization, ratio: utilization / target };
}

/** GetMetricUsageRatio: the average in milli-units, truncated, over the target. */
function averageOf(values: Map<string, number>, targetMilli: number) {
  let total = 0;
  for (const value of values.values()) total += value;
  const average = Math.trunc(total / values.size);
  return { average, ratio: average / targetMilli };
}

/** GetResourceReplicas, for CPU utilization of the limit. */
function resourceReplicas(target: number, groups: Groups, input: ProposalInput): MetricProposal {
  const limitMilli = toMilli(input.cpuLimit);
  const { utilization, ratio } = utilizationOf(groups.values, limitMilli, target);
  const base = {
    kind: 'proposal' as const,
    metric: 'cpu' as const,
    target,
    current: utilization,
    ratio,
    counted: countedOf(groups),
  };
  const scaleUpWithNotReady = groups.notReady.length > 0 && ratio > 1;
  if (!scaleUpWithNotReady && groups.unmeasured.length === 0) {
    if (isWithinTolerance(ratio)) return { ...base, replicas: input.size, outcome: 'within-tolerance' };
    return { ...base, replicas: Math.ceil(ratio * groups.readyCount), outcome: 'computed' };
  }
  const filled = new Map(groups.values);
  if (groups.unmeasured.length > 0) {
    // A scale-down assumes the unmeasured use all of their limit (or the target, above 100%).
    if (ratio < 1) {
      const fallback = Math.trunc((limitMilli * Math.max(100, target)) / 100);
      for (const id of groups.unmeasured) filled.set(id, fallback);
    } else if (ratio > 1) {
      for (const id of groups.unmeasured) filled.set(id, 0);
    }
  }
  if (scaleUpWithNotReady) for (const id of groups.notReady) filled.set(id, 0);
  const adjustedRatio = utilizationOf(filled, limitMilli, target).ratio;
  return { ...base, adjustedRatio, ...conservative(ratio, adjustedRatio, filled.size, input.size) };
}

/** calcPlainMetricReplicas, for the front door's per-instance averages. */
function plainReplicas(
  metric: Exclude<MetricKind, 'cpu'>,
  target: number,
  groups: Groups,
  size: number,
): MetricProposal {
  const targetMilli = toMilli(target);
  const { average, ratio } = averageOf(groups.values, targetMilli);
  const base = {
    kind: 'proposal' as const,
    metric,
    target,
    current: average / 1000,
    ratio,
    counted: countedOf(groups),
  };
  const scaleUpWithNotReady = groups.notReady.length > 0 && ratio > 1;
  if (!scaleUpWithNotReady && groups.unmeasured.length === 0) {
    if (isWithinTolerance(ratio)) return { ...base, replicas: size, outcome: 'within-tolerance' };
    return { ...base, replicas: Math.ceil(ratio * groups.readyCount), outcome: 'computed' };
  }
  const filled = new Map(groups.values);
  if (groups.unmeasured.length > 0) {
    // A scale-down assumes the unmeasured carry exactly the target, so they neither push nor pull.
    if (ratio < 1) for (const id of groups.unmeasured) filled.set(id, targetMilli);
    else if (ratio > 1) for (const id of groups.unmeasured) filled.set(id, 0);
  }
  if (scaleUpWithNotReady) for (const id of groups.notReady) filled.set(id, 0);
  const adjustedRatio = averageOf(filled, targetMilli).ratio;
  return { ...base, adjustedRatio, ...conservative(ratio, adjustedRatio, filled.size, size) };
}

/** The recomputed ratio may still scale, but never within the tolerance and never the other way. */
function conservative(
  ratio: number,
  adjusted: number,
  counted: number,
  size: number,
): { replicas: number; outcome: ProposalOutcome } {
  const turned = (ratio < 1 && adjusted > 1) || (ratio > 1 && adjusted < 1);
  if (isWithinTolerance(adjusted) || turned) return { replicas: size, outcome: 'direction-held' };
  const replicas = Math.ceil(adjusted * counted);
  // More instances counted than the fleet has may turn the direction round too.
  if ((adjusted < 1 && replicas > size) || (adjusted > 1 && replicas < size)) {
    return { replicas: size, outcome: 'direction-held' };
  }
  return { replicas, outcome: 'computed' };
}

function countedOf(groups: Groups): Extract<MetricProposal, { kind: 'proposal' }>['counted'] {
  return {
    measured: groups.values.size,
    notReady: groups.notReady.length,
    unmeasured: groups.unmeasured.length,
  };
}
