/**
 * The autoscaler's decision for one fleet, as the Kubernetes HPA's reconcileAutoscaler makes it
 * (pkg/controller/podautoscaler/horizontal.go): a size outside [min, max] is brought inside; else
 * every metric proposes a size (autoscale-replicas.ts), the highest wins, and the behavior
 * (autoscale-behavior.ts) stabilizes it and limits how fast it moves. Pure: samples, time and the
 * history come in; a decision record (inputs and reasons, ready for the journal) and the history go out.
 */
import type { AutoscaleSection } from '../specfile/index.js';
import {
  type AutoscaleHistory,
  defaultScalingBehavior,
  initialHistory,
  type LimitReason,
  limitScaleRate,
  recordScale,
  type ScalingBehavior,
  type StabilizationReason,
  stabilizeRecommendation,
} from './autoscale-behavior.js';
import { type InstanceSample, type MetricProposal, proposeReplicas } from './autoscale-replicas.js';

export type ScaleReason =
  /** The fleet was scaled to 0 by hand: HPA leaves a target at 0 alone. */
  | 'scaling-disabled'
  /** The size was above `max` (or below `min`): brought to it without looking at the metrics. */
  | 'above-max'
  | 'below-min'
  /** The metrics decided (the size may still stay: within tolerance, stabilized). */
  | 'metrics'
  /** Every metric failed, or some failed and the rest would scale down: nothing changes. */
  | 'invalid-metrics';

/** One decision with what it saw and why: what the journal keeps (a type, so it is JSON for it). */
export type ScaleDecision = {
  /** Epoch ms. */
  at: number;
  from: number;
  to: number;
  reason: ScaleReason;
  /** One line for people: `cpu above target: 4 → 8 (scale-up limit 8)`. */
  message: string;
  min: number;
  max: number;
  /** The instances as the metrics saw them. */
  instances: { running: number; ready: number; pending: number; leaving: number };
  /** Each metric's proposal, or why it had none. */
  metrics: MetricProposal[];
  /** The highest proposal, before stabilization and limits (reason `metrics`). */
  recommended?: number;
  stabilization?: { replicas: number; reason: StabilizationReason };
  limit?: { replicas: number; reason: LimitReason; limit?: number };
};

export interface ScaleInput {
  /** The fleet's size now (HPA's spec.replicas). */
  size: number;
  instances: readonly InstanceSample[];
  /** Each instance's CPU limit in CPUs (`fleet.resources.cpus`). */
  cpuLimit: number;
  now: number;
  /** What the last decisions left; absent for a fleet not seen since the control plane started. */
  history?: AutoscaleHistory;
}

/**
 * Decides the fleet's size. Keep the returned history for the next decision; once a changed size
 * is applied, keep `scaleApplied(history, decision, autoscale)` instead, so the rate limits count it.
 */
export function decideScale(
  autoscale: AutoscaleSection,
  input: ScaleInput,
): { decision: ScaleDecision; history: AutoscaleHistory } {
  const { size, now } = input;
  const history = input.history ?? initialHistory(size, now);
  const base = {
    at: now,
    from: size,
    min: autoscale.min,
    max: autoscale.max,
    instances: countInstances(input.instances),
    metrics: [] as MetricProposal[],
  };
  if (size === 0 && autoscale.min !== 0) {
    const message = 'scaling is disabled while the fleet is scaled to 0';
    return { decision: { ...base, to: 0, reason: 'scaling-disabled', message }, history };
  }
  if (size > autoscale.max) {
    const message = `the size is above max: ${size} → ${autoscale.max}`;
    return { decision: { ...base, to: autoscale.max, reason: 'above-max', message }, history };
  }
  if (size < autoscale.min) {
    const message = `the size is below min: ${size} → ${autoscale.min}`;
    return { decision: { ...base, to: autoscale.min, reason: 'below-min', message }, history };
  }

  const metrics = autoscale.metrics.map((metric) => proposeReplicas(metric, input));
  // computeReplicasForMetrics: the highest valid proposal; 0 when it proposes none.
  let recommended = 0;
  let leading: MetricProposal | undefined;
  for (const proposal of metrics) {
    if (proposal.kind === 'proposal' && (leading === undefined || proposal.replicas > recommended)) {
      recommended = proposal.replicas;
      leading = proposal;
    }
  }
  const invalid = metrics.filter((proposal) => proposal.kind === 'invalid');
  // A metric that cannot be read never lets the others scale down.
  if (invalid.length === metrics.length || (invalid.length > 0 && recommended < size)) {
    const message = `no change: ${invalid.length} of ${metrics.length} metrics could not be read (${invalid
      .map((one) => (one.kind === 'invalid' ? one.message : ''))
      .join('; ')})`;
    return { decision: { ...base, metrics, to: size, reason: 'invalid-metrics', message }, history };
  }

  const behavior = behaviorOf(autoscale);
  const stabilized = stabilizeRecommendation(history, { size, desired: recommended, now, behavior });
  const limited = limitScaleRate(stabilized.history, {
    size,
    desired: stabilized.replicas,
    min: autoscale.min,
    max: autoscale.max,
    now,
    behavior,
  });
  const decision: ScaleDecision = {
    ...base,
    metrics,
    to: limited.replicas,
    reason: 'metrics',
    message: '',
    recommended,
    stabilization: { replicas: stabilized.replicas, reason: stabilized.reason },
    limit: limited,
  };
  decision.message = describeMetricsDecision(decision, leading, behavior);
  return { decision, history: stabilized.history };
}

/** The history once a decision's new size was applied: its change counts against the rate limits. */
export function scaleApplied(
  history: AutoscaleHistory,
  decision: Pick<ScaleDecision, 'from' | 'to' | 'at'>,
  autoscale: AutoscaleSection,
): AutoscaleHistory {
  return recordScale(history, {
    from: decision.from,
    to: decision.to,
    now: decision.at,
    behavior: behaviorOf(autoscale),
  });
}

/** HPA's default behavior with the stabilization windows the spec may change. */
export function behaviorOf(autoscale: AutoscaleSection): ScalingBehavior {
  return {
    scaleUp: {
      ...defaultScalingBehavior.scaleUp,
      stabilizationWindowSeconds: autoscale.behavior.scaleUp.stabilizationWindowSeconds,
    },
    scaleDown: {
      ...defaultScalingBehavior.scaleDown,
      stabilizationWindowSeconds: autoscale.behavior.scaleDown.stabilizationWindowSeconds,
    },
  };
}

function countInstances(instances: readonly InstanceSample[]): ScaleDecision['instances'] {
  const counts = { running: 0, ready: 0, pending: 0, leaving: 0 };
  for (const instance of instances) {
    counts[instance.phase === 'running' ? 'running' : instance.phase]++;
    if (instance.phase === 'running' && instance.ready) counts.ready++;
  }
  return counts;
}

function describeMetricsDecision(
  decision: ScaleDecision,
  leading: MetricProposal | undefined,
  behavior: ScalingBehavior,
): string {
  const { from, to, recommended = from, stabilization, limit } = decision;
  const why =
    recommended > from && leading?.kind === 'proposal'
      ? `${leading.metric} above target (${formatCurrent(leading)})`
      : recommended < from
        ? 'all metrics below target'
        : 'metrics within tolerance';
  const notes: string[] = [];
  if (stabilization && stabilization.reason !== 'ready-for-new-scale') {
    const window =
      stabilization.reason === 'scale-down-stabilized'
        ? behavior.scaleDown.stabilizationWindowSeconds
        : behavior.scaleUp.stabilizationWindowSeconds;
    notes.push(
      `recommended ${recommended}, held at ${stabilization.replicas} by the last ${window} s of recommendations`,
    );
  }
  if (limit && limit.reason !== 'desired-within-range')
    notes.push(`${limit.reason.replaceAll('-', ' ')} ${limit.replicas}`);
  const change = to === from ? `keeping ${from}` : `${from} → ${to}`;
  return `${why}: ${change}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

function formatCurrent(proposal: Extract<MetricProposal, { kind: 'proposal' }>): string {
  return proposal.metric === 'cpu'
    ? `${proposal.current}% of the cpu limit, target ${proposal.target}%`
    : `${proposal.current} per instance, target ${proposal.target}`;
}
