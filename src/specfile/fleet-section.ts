/**
 * herd.yaml's `fleet:` section: how many instances run, the host port of the front door, the rolling
 * update strategy (Kubernetes' fields and arithmetic, plus Nomad's auto-revert), when an unhealthy
 * instance is replaced, the resource limits of each instance and how it is stopped. The schema is the
 * untrusted edge (every field says what it expects, unknown fields are errors) and its output,
 * `FleetSection`, carries every default. The controller lives in src/fleet.
 */
import { z } from 'zod';
import { AutoscaleSection } from './autoscale-section.js';
import { describeValue } from './errors.js';
import {
  expecting,
  fields,
  flag,
  listOf,
  optional,
  pattern,
  whenValid,
  wholeNumber,
} from './schema-fields.js';

/** A count of instances, or a percentage of the fleet's size (`"25%"`), as Kubernetes' IntOrString. */
export type InstanceCount = number | `${number}%`;

/**
 * How a new revision replaces the old one: `rolling` within maxSurge and maxUnavailable, `recreate`
 * (Kubernetes' Recreate) drains and removes every old instance before the first new one is made,
 * `blue-green` (Argo Rollouts' blueGreen) starts the whole new fleet out of traffic, switches the
 * front door to it at once when every new instance is available, and keeps the old fleet running
 * for `bakeSeconds`, so a rollback within that time is a switch back.
 */
export const strategyTypes = ['rolling', 'recreate', 'blue-green'] as const;
export type StrategyType = (typeof strategyTypes)[number];

export interface RolloutStrategy {
  /** The spec always names one (default `rolling`); a template stored before strategies has none: rolling. */
  type?: StrategyType;
  /** Instances above `size` a rollout may add; a percentage rounds up. */
  maxSurge: InstanceCount;
  /** Instances below `size` that may be unavailable during a rollout; a percentage rounds down. */
  maxUnavailable: InstanceCount;
  /** An instance counts as available once it has been ready this long. */
  minReadySeconds: number;
  /** A rollout that makes no progress for this long has failed. */
  progressDeadlineSeconds: number;
  /** A failed rollout goes back to the last revision that completed. */
  autoRevert: boolean;
  /**
   * `blue-green` only (and always set there): seconds the old fleet keeps running out of traffic
   * after the switch (Argo Rollouts' scaleDownDelaySeconds).
   */
  bakeSeconds?: number;
}

export interface FleetSection {
  size: number;
  /** Host port of the front door on 127.0.0.1; absent means an ephemeral port. */
  port?: number;
  strategy: RolloutStrategy;
  /** The check is the spec's top-level `health:`; this says when a failing instance is replaced. */
  health: { failureThreshold: number };
  /** `shmBytes`: /dev/shm's size when the spec asks for one; the engine's 1 MiB otherwise. */
  resources: { memoryBytes: number; cpus: number; pids: number; shmBytes?: number };
  /** Seconds between SIGTERM and SIGKILL. */
  stopGraceSeconds: number;
  /** Seconds a leaving instance gets to finish its in-flight requests, after it stops getting new ones. */
  drainSeconds: number;
  /**
   * An instance older than this is replaced, one at a time and surge first (AWS ASG's
   * MaxInstanceLifetime, also in seconds; src/fleet/plan-expiry.ts). Absent: instances live on.
   */
  maxLifetimeSeconds?: number;
  /** The size follows the metrics within these bounds (autoscale-section.ts); absent: `size` is kept. */
  autoscale?: AutoscaleSection;
  /**
   * Where an engine of many machines may place the instances: Swarm's placement constraints, such
   * as `node.labels.zone==east`. Spreading them over the nodes is the engine's (Swarm's scheduler);
   * the engine on one host ignores this. Absent: any node.
   */
  placement?: { constraints: string[] };
}

const mebibyte = 1024 * 1024;
const memoryUnits = { '': 1, Ki: 1024, Mi: mebibyte, Gi: 1024 * mebibyte } as const;
/** Docker refuses less than 6 MB; more than 64 GiB for one disposable instance is surely a typo. */
const memoryRange = { min: 6 * mebibyte, max: 64 * 1024 * mebibyte };

export const defaultFleetSection: FleetSection = {
  size: 2,
  strategy: {
    type: 'rolling',
    maxSurge: '25%',
    maxUnavailable: '25%',
    minReadySeconds: 5,
    progressDeadlineSeconds: 120,
    autoRevert: true,
  },
  health: { failureThreshold: 3 },
  resources: { memoryBytes: 256 * mebibyte, cpus: 1, pids: 256 },
  stopGraceSeconds: 10,
  drainSeconds: 5,
};

const countExpectation = 'a whole number of instances from 0 or a percentage from 0% to 100% such as "25%"';

const InstanceCountField = z
  .union([z.int(), z.string()], expecting(countExpectation))
  .superRefine((value, ctx) => {
    const valid =
      typeof value === 'number'
        ? value >= 0 && value <= 10_000
        : /^\d{1,3}%$/.test(value) && Number.parseInt(value, 10) <= 100;
    if (!valid)
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `expected ${countExpectation}, got ${describeValue(value)}`,
      });
  })
  .transform((value) => value as InstanceCount);

const memoryExpectation = 'a memory size from 6Mi to 64Gi such as 256Mi, 1Gi or a number of bytes';

/** A size in bytes, or with a Ki, Mi or Gi suffix, within `range`. */
function byteSize(expectation: string, range: { min: number; max: number }) {
  return z
    .union([z.int(), pattern(/^\d+(?:Ki|Mi|Gi)$/, expectation)], expecting(expectation))
    .transform((value) => {
      if (typeof value === 'number') return value;
      const [, amount = '0', unit = ''] = /^(\d+)(Ki|Mi|Gi)?$/.exec(value) ?? [];
      return Number(amount) * memoryUnits[unit as keyof typeof memoryUnits];
    })
    .superRefine((bytes, ctx) => {
      if (bytes >= range.min && bytes <= range.max) return;
      ctx.addIssue({
        code: 'custom',
        input: bytes,
        message: `expected ${expectation}, got ${bytes} bytes`,
      });
    });
}

const Memory = byteSize(memoryExpectation, memoryRange);

/**
 * /dev/shm is a noexec tmpfs, but a script there still runs with `sh /dev/shm/x`: herd keeps it
 * small (1 MiB) unless the workload needs more, and never larger than the memory limit it counts against.
 */
const shmExpectation = 'a /dev/shm size from 64Ki to 64Gi such as 1Mi or 64Mi';
const Shm = byteSize(shmExpectation, { min: 64 * 1024, max: memoryRange.max });

const cpusExpectation = 'a number of CPUs above 0 and at most 256 such as 0.5 or 2';

/** How long a blue-green rollout keeps the old fleet after the switch, when the spec does not say. */
export const defaultBakeSeconds = 300;

const strategyTypeExpectation = `one of ${strategyTypes.join(', ')}`;

const Strategy = fields(
  {
    type: optional(z.enum(strategyTypes, expecting(strategyTypeExpectation))),
    maxSurge: optional(InstanceCountField),
    maxUnavailable: optional(InstanceCountField),
    minReadySeconds: optional(wholeNumber('a number of seconds from 0 to 3600', { min: 0, max: 3600 })),
    progressDeadlineSeconds: optional(
      wholeNumber('a number of seconds from 1 to 86400', { min: 1, max: 86_400 }),
    ),
    autoRevert: optional(flag()),
    bakeSeconds: optional(wholeNumber('a number of seconds from 0 to 86400', { min: 0, max: 86_400 })),
  },
  'a mapping with type, maxSurge, maxUnavailable, minReadySeconds, progressDeadlineSeconds, autoRevert and bakeSeconds',
).superRefine((raw, ctx) => {
  // A bake time anywhere else would be silently ignored: only blue-green keeps an old fleet.
  if (raw.bakeSeconds !== undefined && raw.type !== 'blue-green') {
    ctx.addIssue({
      code: 'custom',
      path: ['bakeSeconds'],
      input: raw.bakeSeconds,
      message: `expected bakeSeconds only with type: blue-green, got it with type: ${raw.type ?? 'rolling'}`,
    });
  }
  // As Kubernetes: a deadline within minReadySeconds would fail every rollout before it could progress.
  const minReady = raw.minReadySeconds ?? defaultFleetSection.strategy.minReadySeconds;
  const deadline = raw.progressDeadlineSeconds ?? defaultFleetSection.strategy.progressDeadlineSeconds;
  if (deadline > minReady) return;
  ctx.addIssue({
    code: 'custom',
    path: ['progressDeadlineSeconds'],
    input: deadline,
    message: `expected a deadline greater than minReadySeconds (${minReady}), got ${deadline}`,
  });
}, whenValid);

const Health = fields(
  {
    failureThreshold: optional(
      wholeNumber('a number of consecutive failed checks from 1 to 100', { min: 1, max: 100 }),
    ),
  },
  'a mapping with failureThreshold',
);

const Resources = fields(
  {
    memory: optional(Memory),
    cpus: optional(
      z
        .number(expecting(cpusExpectation))
        .positive(expecting(cpusExpectation))
        .max(256, expecting(cpusExpectation)),
    ),
    pids: optional(wholeNumber('a process limit from 8 to 1000000', { min: 8, max: 1_000_000 })),
    shm: optional(Shm),
  },
  'a mapping with memory, cpus, pids and shm',
).superRefine((raw, ctx) => {
  const memory = raw.memory ?? defaultFleetSection.resources.memoryBytes;
  if (raw.shm === undefined || raw.shm <= memory) return;
  ctx.addIssue({
    code: 'custom',
    path: ['shm'],
    input: raw.shm,
    message: `expected a /dev/shm size no larger than the memory limit (${memory} bytes), got ${raw.shm} bytes`,
  });
}, whenValid);

const seconds = (max: number) => wholeNumber(`a number of seconds from 0 to ${max}`, { min: 0, max });

/** The `fleet:` section as written in herd.yaml; the type of the same name is what it becomes. */
const constraintExpectation =
  'a node condition such as node.labels.zone==east: node.id, node.hostname, node.role or node.labels.NAME, then == or !=, then a value';

const Placement = fields(
  {
    constraints: optional(
      listOf(
        pattern(
          /^node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9._-]+)\s*(==|!=)\s*[A-Za-z0-9._:/-]+$/,
          constraintExpectation,
        ),
        'a list of node conditions',
      ),
    ),
  },
  'a mapping with constraints',
);

export const FleetSection = fields(
  {
    size: optional(wholeNumber('a number of instances from 0 to 10000', { min: 0, max: 10_000 })),
    port: optional(wholeNumber('a host port number from 1 to 65535', { min: 1, max: 65_535 })),
    strategy: optional(Strategy),
    health: optional(Health),
    resources: optional(Resources),
    stopGraceSeconds: optional(seconds(3600)),
    drainSeconds: optional(seconds(3600)),
    maxLifetimeSeconds: optional(
      wholeNumber('a number of seconds from 10 to 31536000 (365 days) such as 86400', {
        min: 10,
        max: 365 * 86_400,
      }),
    ),
    autoscale: optional(AutoscaleSection),
    placement: optional(Placement),
  },
  'a mapping with size, port, strategy, health, resources, stopGraceSeconds, drainSeconds, maxLifetimeSeconds, autoscale and placement',
).transform((raw): FleetSection => {
  const defaults = defaultFleetSection;
  return {
    size: raw.size ?? defaults.size,
    ...(raw.port !== undefined ? { port: raw.port } : {}),
    strategy: {
      type: raw.strategy?.type ?? defaults.strategy.type,
      maxSurge: raw.strategy?.maxSurge ?? defaults.strategy.maxSurge,
      maxUnavailable: raw.strategy?.maxUnavailable ?? defaults.strategy.maxUnavailable,
      minReadySeconds: raw.strategy?.minReadySeconds ?? defaults.strategy.minReadySeconds,
      progressDeadlineSeconds:
        raw.strategy?.progressDeadlineSeconds ?? defaults.strategy.progressDeadlineSeconds,
      autoRevert: raw.strategy?.autoRevert ?? defaults.strategy.autoRevert,
      ...(raw.strategy?.type === 'blue-green'
        ? { bakeSeconds: raw.strategy.bakeSeconds ?? defaultBakeSeconds }
        : {}),
    },
    health: { failureThreshold: raw.health?.failureThreshold ?? defaults.health.failureThreshold },
    resources: {
      memoryBytes: raw.resources?.memory ?? defaults.resources.memoryBytes,
      cpus: raw.resources?.cpus ?? defaults.resources.cpus,
      pids: raw.resources?.pids ?? defaults.resources.pids,
      ...(raw.resources?.shm !== undefined ? { shmBytes: raw.resources.shm } : {}),
    },
    stopGraceSeconds: raw.stopGraceSeconds ?? defaults.stopGraceSeconds,
    drainSeconds: raw.drainSeconds ?? defaults.drainSeconds,
    ...(raw.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: raw.maxLifetimeSeconds } : {}),
    ...(raw.autoscale !== undefined ? { autoscale: raw.autoscale } : {}),
    ...(raw.placement?.constraints?.length ? { placement: { constraints: raw.placement.constraints } } : {}),
  };
});
