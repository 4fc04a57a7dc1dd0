/**
 * herd.yaml's `fleet.autoscale:` section: the bounds and metrics a fleet's size follows, in the
 * Kubernetes HPA's words (minReplicas and maxReplicas as `min` and `max`, metric targets as
 * `averageUtilization` and `averageValue`, `behavior.*.stabilizationWindowSeconds`). The
 * algorithm itself lives in src/fleet (autoscale*.ts).
 */
import { z } from 'zod';
import { expecting, fields, listOf, optional, uniqueItems, whenValid, wholeNumber } from './schema-fields.js';

/** What a fleet's size is scaled on; each is a per-instance average over the fleet. */
export type AutoscaleMetric =
  /** CPU used as a whole percent of each instance's `fleet.resources.cpus`, from the engine's stats. */
  | { kind: 'cpu'; averageUtilization: number }
  /** Requests per second the front door sends each instance. */
  | { kind: 'requestsPerSecond'; averageValue: number }
  /** Requests in flight at the front door, per instance. */
  | { kind: 'inFlightRequests'; averageValue: number };

export interface AutoscaleSection {
  /** The fewest instances the autoscaler leaves (HPA's minReplicas). */
  min: number;
  /** The most instances the autoscaler makes (HPA's maxReplicas). */
  max: number;
  /** Never empty: HPA's default is CPU at 80%. */
  metrics: AutoscaleMetric[];
  /**
   * Seconds between two decisions, and the window each metric is measured over (HPA's
   * `--horizontal-pod-autoscaler-sync-period`, a flag of the whole controller there).
   */
  syncPeriodSeconds: number;
  /** How long recommendations are remembered before a scale up or down (HPA's behavior). */
  behavior: {
    scaleUp: { stabilizationWindowSeconds: number };
    scaleDown: { stabilizationWindowSeconds: number };
  };
}

export const metricTypes = ['cpu', 'requestsPerSecond', 'inFlightRequests'] as const;

/** HPA's defaults: CPU at 80% of the limit when no metric is named; no scale-up window, 300 s down. */
export const defaultAutoscaleMetrics: readonly AutoscaleMetric[] = [{ kind: 'cpu', averageUtilization: 80 }];
export const defaultStabilizationSeconds = { scaleUp: 0, scaleDown: 300 } as const;
/** HPA's default sync period. */
export const defaultSyncPeriodSeconds = 15;

const instances = (field: string) =>
  wholeNumber(`a number of instances from 1 to 10000 for ${field}`, { min: 1, max: 10_000 });

const averageValueExpectation = 'a number above 0 and at most 1000000 such as 50 or 0.5';
const AverageValue = z
  .number(expecting(averageValueExpectation))
  .positive(expecting(averageValueExpectation))
  .max(1_000_000, expecting(averageValueExpectation));

const typeExpectation = `one of ${metricTypes.join(', ')}`;

const Metric = fields(
  {
    type: z.enum(metricTypes, expecting(typeExpectation)),
    // A CPU limit cannot be exceeded, so a target above 100% could never be reached.
    averageUtilization: optional(
      wholeNumber('a whole percent of the cpu limit from 1 to 100 such as 70', { min: 1, max: 100 }),
    ),
    averageValue: optional(AverageValue),
  },
  'a mapping with type and averageUtilization (cpu) or averageValue (requestsPerSecond, inFlightRequests)',
)
  .superRefine((raw, ctx) => {
    const wanted = raw.type === 'cpu' ? 'averageUtilization' : 'averageValue';
    const other = raw.type === 'cpu' ? 'averageValue' : 'averageUtilization';
    if (raw[wanted] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [wanted],
        input: undefined,
        message: `expected ${wanted} for a ${raw.type} metric, got nothing`,
      });
    }
    if (raw[other] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [other],
        input: raw[other],
        message: `expected ${wanted} for a ${raw.type} metric, got ${other} (${other === 'averageUtilization' ? 'cpu only' : 'not for cpu'})`,
      });
    }
  }, whenValid)
  .transform((raw): AutoscaleMetric => {
    if (raw.type === 'cpu') return { kind: 'cpu', averageUtilization: raw.averageUtilization ?? 0 };
    return { kind: raw.type, averageValue: raw.averageValue ?? 0 };
  });

const Metrics = listOf(Metric, 'a list of metrics', { nonEmpty: true })
  .max(metricTypes.length, expecting(`at most ${metricTypes.length} metrics, one of each type`))
  .check(
    uniqueItems(
      (metric: AutoscaleMetric) => metric.kind,
      (kind) => `metric ${kind}`,
    ),
  );

const windowSeconds = wholeNumber('a number of seconds from 0 to 3600', { min: 0, max: 3600 });
const Direction = fields(
  { stabilizationWindowSeconds: optional(windowSeconds) },
  'a mapping with stabilizationWindowSeconds',
);

const Behavior = fields(
  { scaleUp: optional(Direction), scaleDown: optional(Direction) },
  'a mapping with scaleUp and scaleDown',
);

/** The `fleet.autoscale:` section as written in herd.yaml; the type of the same name is what it becomes. */
export const AutoscaleSection = fields(
  {
    min: optional(instances('min')),
    max: instances('max'),
    metrics: optional(Metrics),
    syncPeriodSeconds: optional(wholeNumber('a number of seconds from 1 to 300', { min: 1, max: 300 })),
    behavior: optional(Behavior),
  },
  'a mapping with min, max, metrics, syncPeriodSeconds and behavior',
)
  .superRefine((raw, ctx) => {
    const min = raw.min ?? 1;
    if (raw.max >= min) return;
    ctx.addIssue({
      code: 'custom',
      path: ['max'],
      input: raw.max,
      message: `expected max to be at least min (${min}), got ${raw.max}`,
    });
  }, whenValid)
  .transform(
    (raw): AutoscaleSection => ({
      min: raw.min ?? 1,
      max: raw.max,
      metrics: raw.metrics ?? [...defaultAutoscaleMetrics],
      syncPeriodSeconds: raw.syncPeriodSeconds ?? defaultSyncPeriodSeconds,
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds:
            raw.behavior?.scaleUp?.stabilizationWindowSeconds ?? defaultStabilizationSeconds.scaleUp,
        },
        scaleDown: {
          stabilizationWindowSeconds:
            raw.behavior?.scaleDown?.stabilizationWindowSeconds ?? defaultStabilizationSeconds.scaleDown,
        },
      },
    }),
  );
