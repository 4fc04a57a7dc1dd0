/**
 * How fast a fleet's size may follow its metrics, as the Kubernetes HPA's scaling behavior
 * (pkg/controller/podautoscaler/horizontal.go: stabilizeRecommendationWithBehaviors,
 * convertDesiredReplicasWithBehaviorRate, calculateScale{Up,Down}Limit…, storeScaleEvent) with the
 * defaults of pkg/apis/autoscaling/v2/defaults.go. Pure: the history of recommendations and scale
 * events is a value handed in and handed back, and time comes in as `now`.
 */

/** One of HPA's HPAScalingPolicy: add (or remove) `value` instances, or `value`%, per `periodSeconds`. */
export interface ScalingPolicy {
  type: 'pods' | 'percent';
  value: number;
  periodSeconds: number;
}

/** HPA's HPAScalingRules for one direction. */
export interface ScalingRules {
  /** Recommendations this recent are remembered: scaling up takes their lowest, down their highest. */
  stabilizationWindowSeconds: number;
  /** `max`: the policy that allows the largest change wins; `min`: the smallest; `disabled`: no change this way. */
  selectPolicy: 'max' | 'min' | 'disabled';
  policies: ScalingPolicy[];
}

export interface ScalingBehavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/**
 * HPA's defaults: scale up at once by the larger of 4 instances or 100% per 15 s; scale down to
 * whatever the highest recommendation of the last 300 s says, by up to 100% per 15 s.
 */
export const defaultScalingBehavior: ScalingBehavior = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'max',
    policies: [
      { type: 'pods', value: 4, periodSeconds: 15 },
      { type: 'percent', value: 100, periodSeconds: 15 },
    ],
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'max',
    policies: [{ type: 'percent', value: 100, periodSeconds: 15 }],
  },
};

/** What the autoscaler remembers of one fleet between decisions (HPA keeps the same in memory). */
export interface AutoscaleHistory {
  /** Each decision's unstabilized recommendation, and when. */
  recommendations: { replicas: number; at: number }[];
  /** Instances added, and removed, by each scale applied, and when. */
  scaleUps: { change: number; at: number }[];
  scaleDowns: { change: number; at: number }[];
}

/**
 * A fleet the autoscaler has not seen yet starts with its current size as a recommendation
 * (recordInitialRecommendation), so a restarted control plane does not scale down at once.
 */
export function initialHistory(size: number, now: number): AutoscaleHistory {
  return { recommendations: [{ replicas: size, at: now }], scaleUps: [], scaleDowns: [] };
}

export type StabilizationReason = 'scale-up-stabilized' | 'scale-down-stabilized' | 'ready-for-new-scale';

/**
 * stabilizeRecommendationWithBehaviors: the recommendation is kept between the lowest of the
 * scale-up window and the highest of the scale-down window (both including this one), and is
 * remembered unstabilized. Recommendations older than both windows are forgotten.
 */
export function stabilizeRecommendation(
  history: AutoscaleHistory,
  input: { size: number; desired: number; now: number; behavior: ScalingBehavior },
): { replicas: number; reason: StabilizationReason; history: AutoscaleHistory } {
  const { size, desired, now, behavior } = input;
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let upRecommendation = desired;
  let downRecommendation = desired;
  const kept: AutoscaleHistory['recommendations'] = [];
  for (const one of history.recommendations) {
    if (one.at > upCutoff) upRecommendation = Math.min(one.replicas, upRecommendation);
    if (one.at > downCutoff) downRecommendation = Math.max(one.replicas, downRecommendation);
    if (!(one.at < upCutoff && one.at < downCutoff)) kept.push(one);
  }
  let replicas = size;
  if (replicas < upRecommendation) replicas = upRecommendation;
  if (replicas > downRecommendation) replicas = downRecommendation;
  const reason: StabilizationReason =
    replicas === desired
      ? 'ready-for-new-scale'
      : desired >= size
        ? 'scale-up-stabilized'
        : 'scale-down-stabilized';
  return {
    replicas,
    reason,
    history: { ...history, recommendations: [...kept, { replicas: desired, at: now }] },
  };
}

export type LimitReason =
  /** More than the scale-up policies allow in their period. */
  | 'scale-up-limit'
  /** More than `max`. */
  | 'too-many-replicas'
  /** Fewer than the scale-down policies allow in their period. */
  | 'scale-down-limit'
  /** Fewer than `min`. */
  | 'too-few-replicas'
  | 'desired-within-range';

/**
 * convertDesiredReplicasWithBehaviorRate: a scale-up goes no higher than `max` and the scale-up
 * policies allow over their period, a scale-down no lower than `min` and the scale-down policies allow.
 */
export function limitScaleRate(
  history: AutoscaleHistory,
  input: {
    size: number;
    desired: number;
    min: number;
    max: number;
    now: number;
    behavior: ScalingBehavior;
  },
): { replicas: number; reason: LimitReason; limit?: number } {
  const { size, desired, min, max, now, behavior } = input;
  if (desired > size) {
    // Scaling up waits until the events of the period are old enough.
    const limit = Math.max(size, scaleUpLimit(size, history, behavior.scaleUp, now));
    const allowed = Math.min(max, limit);
    const reason = max > limit ? 'scale-up-limit' : 'too-many-replicas';
    if (desired > allowed) return { replicas: allowed, reason, limit };
  } else if (desired < size) {
    const limit = Math.min(size, scaleDownLimit(size, history, behavior.scaleDown, now));
    const allowed = Math.max(min, limit);
    const reason = min < limit ? 'scale-down-limit' : 'too-few-replicas';
    if (desired < allowed) return { replicas: allowed, reason, limit };
  }
  return { replicas: desired, reason: 'desired-within-range' };
}

/** storeScaleEvent: a scale that was applied, counted against the policies' periods; old events forgotten. */
export function recordScale(
  history: AutoscaleHistory,
  scale: { from: number; to: number; now: number; behavior: ScalingBehavior },
): AutoscaleHistory {
  const { from, to, now, behavior } = scale;
  if (to === from) return history;
  const recent = (events: AutoscaleHistory['scaleUps'], rules: ScalingRules) => {
    const cutoff = now - longestPeriodSeconds(rules) * 1000;
    return events.filter((event) => !(event.at < cutoff));
  };
  if (to > from) {
    return {
      ...history,
      scaleUps: [...recent(history.scaleUps, behavior.scaleUp), { change: to - from, at: now }],
    };
  }
  return {
    ...history,
    scaleDowns: [...recent(history.scaleDowns, behavior.scaleDown), { change: from - to, at: now }],
  };
}

/** The fleet's size `periodSeconds` ago: today's size less the changes made since, as the HPA reckons it. */
function sizeAtPeriodStart(
  size: number,
  history: AutoscaleHistory,
  periodSeconds: number,
  now: number,
): number {
  return (
    size -
    changeWithin(history.scaleUps, periodSeconds, now) +
    changeWithin(history.scaleDowns, periodSeconds, now)
  );
}

/** calculateScaleUpLimitWithScalingRules: from the size at the period's start, per policy, the largest (or smallest). */
function scaleUpLimit(size: number, history: AutoscaleHistory, rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'disabled') return size;
  const pick = rules.selectPolicy === 'min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const policy of rules.policies) {
    const periodStart = sizeAtPeriodStart(size, history, policy.periodSeconds, now);
    // Rounded up, or a small fleet's percentage would never add one.
    const proposed =
      policy.type === 'pods' ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** calculateScaleDownLimitWithBehaviors: the lowest size the policies allow (`max` picks the largest change). */
function scaleDownLimit(size: number, history: AutoscaleHistory, rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'disabled') return size;
  const pick = rules.selectPolicy === 'min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'min' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const policy of rules.policies) {
    const periodStart = sizeAtPeriodStart(size, history, policy.periodSeconds, now);
    const proposed =
      policy.type === 'pods'
        ? periodStart - policy.value
        : Math.trunc(periodStart * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** getReplicasChangePerPeriod: instances changed by events strictly within the last period. */
function changeWithin(events: AutoscaleHistory['scaleUps'], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  let change = 0;
  for (const event of events) if (event.at > cutoff) change += event.change;
  return change;
}

function longestPeriodSeconds(rules: ScalingRules): number {
  return rules.policies.reduce((longest, policy) => Math.max(longest, policy.periodSeconds), 0);
}
