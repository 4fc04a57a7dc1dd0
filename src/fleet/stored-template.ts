/**
 * A fleet's template as read back from herd.db (`fleets.spec_json`, `fleet_history.spec_json`): an
 * edge like any file, so it is validated, and versioned. Version 1 is what herd writes. A template
 * with no version was stored before run templates: it is read as version 0, with a run template
 * rebuilt from what its instances ran with (user, writable paths, writable root, health), which
 * keeps its fleet running and watched, and which admission refuses to roll out again. Any other
 * version is refused.
 */
import { z } from 'zod';
import type { FleetSection } from '../specfile/index.js';
import {
  parseRunTemplate,
  type RunTemplate,
  runTemplateVersion,
  SpecError,
  strategyTypes,
} from '../specfile/index.js';
import { FleetError } from './errors.js';
import type { FleetTemplate } from './types.js';

const whole = (min: number, max: number) => z.number().int().min(min).max(max);
const count = z.union([whole(0, 10_000), z.string().regex(/^\d{1,3}%$/)]) as z.ZodType<
  FleetSection['strategy']['maxSurge']
>;

/** `FleetSection` as specfile/fleet-section.ts makes it (its output, not the YAML). */
const StoredFleetSection: z.ZodType<FleetSection> = z.strictObject({
  size: whole(0, 10_000),
  port: whole(1, 65_535).optional(),
  strategy: z
    .strictObject({
      type: z.enum(strategyTypes).optional(),
      maxSurge: count,
      maxUnavailable: count,
      minReadySeconds: whole(0, 3600),
      progressDeadlineSeconds: whole(1, 86_400),
      autoRevert: z.boolean(),
      bakeSeconds: whole(0, 86_400).optional(),
    })
    .superRefine((strategy, ctx) => {
      // As the spec loader (fleet-section.ts): only blue-green keeps an old fleet to bake.
      if (strategy.bakeSeconds === undefined || strategy.type === 'blue-green') return;
      ctx.addIssue({
        code: 'custom',
        path: ['bakeSeconds'],
        input: strategy.bakeSeconds,
        message: `expected bakeSeconds only with type: blue-green, got it with type: ${strategy.type ?? 'rolling'}`,
      });
    }),
  health: z.strictObject({ failureThreshold: whole(1, 100) }),
  resources: z.strictObject({
    memoryBytes: whole(6 * 1024 * 1024, 64 * 1024 ** 3),
    cpus: z.number().positive().max(256),
    pids: whole(8, 1_000_000),
    shmBytes: whole(64 * 1024, 64 * 1024 ** 3).optional(),
  }),
  stopGraceSeconds: whole(0, 3600),
  drainSeconds: whole(0, 3600),
  maxLifetimeSeconds: whole(10, 365 * 86_400).optional(),
  autoscale: z
    .strictObject({
      min: whole(1, 10_000),
      max: whole(1, 10_000),
      metrics: z
        .array(
          z.discriminatedUnion('kind', [
            z.strictObject({ kind: z.literal('cpu'), averageUtilization: whole(1, 100) }),
            z.strictObject({
              kind: z.enum(['requestsPerSecond', 'inFlightRequests']),
              averageValue: z.number().positive().max(1_000_000),
            }),
          ]),
        )
        .min(1)
        .max(3),
      // Templates stored before the field existed decided every 15 s, HPA's default.
      syncPeriodSeconds: whole(1, 300).default(15),
      behavior: z.strictObject({
        scaleUp: z.strictObject({ stabilizationWindowSeconds: whole(0, 3600) }),
        scaleDown: z.strictObject({ stabilizationWindowSeconds: whole(0, 3600) }),
      }),
    })
    .optional(),
}) as z.ZodType<FleetSection>;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);
const knobs = {
  fleet: StoredFleetSection,
  port: whole(1, 65_535).optional(),
  env: z.record(envName, z.string()),
  fromEnvironment: z.array(envName).optional(),
  watch: z
    .strictObject({
      webhook: z.string().optional(),
      deepCheck: z.strictObject({ intervalSeconds: z.number().min(10).max(86_400) }).optional(),
    })
    .optional(),
};

const TemplateV1 = z.strictObject({ version: z.literal(1), run: z.unknown(), ...knobs });

/** The shape stored before versions; its run settings sat beside the knobs. */
const TemplateBeforeVersions = z.strictObject({
  ...knobs,
  health: z.unknown().optional(),
  user: z.strictObject({ uid: whole(0, 2 ** 31 - 1), gid: whole(0, 2 ** 31 - 1) }),
  writable: z.array(z.string()),
  writableRoot: z.boolean().optional(),
});

/** Reads a stored template; `where` names the row in the error (`the template of fleet web`). */
export function parseStoredTemplate(json: string, where: string): FleetTemplate {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new FleetError('TEMPLATE_INVALID', `${where} in herd.db is not JSON`);
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (version === undefined) return beforeVersions(value, where);
  if (version !== 1) {
    throw new FleetError(
      'TEMPLATE_INVALID',
      `${where} in herd.db has version ${JSON.stringify(version)}, expected 1: it was written by another herd`,
    );
  }
  const parsed = TemplateV1.safeParse(value);
  if (!parsed.success) throw invalid(where, parsed.error);
  const { run, ...rest } = parsed.data;
  return { ...withoutUndefined(rest), version: 1, run: runTemplateOf(run, where) };
}

function beforeVersions(value: unknown, where: string): FleetTemplate {
  const parsed = TemplateBeforeVersions.safeParse(value);
  if (!parsed.success) throw invalid(where, parsed.error);
  const { health, user, writable, writableRoot, ...rest } = parsed.data;
  const run = runTemplateOf(
    {
      version: runTemplateVersion,
      user,
      writable,
      writableRoot: writableRoot ?? false,
      capabilities: [],
      ports: rest.port !== undefined ? [{ port: rest.port, protocol: 'tcp' }] : [],
      entrypoint: [],
      cmd: [],
      env: rest.fromEnvironment ?? [],
      ...(health !== undefined ? { health } : {}),
    },
    where,
  );
  return { ...withoutUndefined(rest), version: 0, run };
}

function runTemplateOf(value: unknown, where: string): RunTemplate {
  try {
    return parseRunTemplate(value, `the run template of ${where}`);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    throw new FleetError('TEMPLATE_INVALID', `${error.message} (in herd.db)`, { cause: error });
  }
}

function invalid(where: string, error: z.ZodError): FleetError {
  const [issue] = error.issues;
  const at = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return new FleetError(
    'TEMPLATE_INVALID',
    `${where} in herd.db is not a fleet template: ${at}${issue?.message}`,
  );
}

/** zod keeps optional keys that were absent as absent; this drops any that came back undefined. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, one]) => one !== undefined)) as T;
}
