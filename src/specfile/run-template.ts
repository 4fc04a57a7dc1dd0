/**
 * The run template: the part of herd.yaml that says how an image runs and that the gate judged
 * (user, writable paths, writable root, capabilities, ports, entrypoint and cmd, the names of the
 * environment variables, the health check). `herd build` attaches it to the image, `herd sign`
 * attests it (`urn:herd:run-template:v1`), admission refuses a rollout whose template differs from
 * the attested one in what the gate judged, and each instance is labelled with its template's
 * digest so the watch judges it against the paths it was started with.
 *
 * Env values never appear: defaults are in the image's config and secrets are not herd.yaml's.
 * The format lives in this leaf so that build, trust, fleet and watch read it without importing
 * one another.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeValue, SpecError } from './errors.js';
import type { HealthCheck, PortSpec, Spec } from './types.js';
import { WritablePath } from './writable-paths.js';

/** The media type of the referrer `herd build` attaches. */
export const runTemplateMediaType = 'application/vnd.herd.run-template.v1+json';

export const runTemplateVersion = 1;

export interface RunTemplate {
  version: typeof runTemplateVersion;
  user: { uid: number; gid: number };
  /** Sorted. */
  writable: string[];
  writableRoot: boolean;
  /** Capabilities added to the instances; herd adds none, so empty until a spec can ask for one. */
  capabilities: string[];
  /** Sorted by port, then protocol. */
  ports: PortSpec[];
  entrypoint: string[];
  cmd: string[];
  /** The names of the spec's environment variables, sorted; never their values. */
  env: string[];
  health?: HealthCheck;
  /**
   * `run.processes`, sorted: the executables that may run. Only when the spec says, so a template
   * from before the field has the digest it always had; absent means the default allowlist.
   */
  processes?: string[];
}

/** Pure: the run template of a validated spec. */
export function runTemplateFor(spec: Spec): RunTemplate {
  return normalized({
    version: runTemplateVersion,
    user: { uid: spec.run.user.uid, gid: spec.run.user.gid },
    writable: spec.run.writable,
    writableRoot: spec.run.writableRoot,
    capabilities: [],
    ports: spec.ports,
    entrypoint: spec.run.entrypoint,
    cmd: spec.run.cmd,
    env: Object.keys(spec.env),
    ...(spec.health ? { health: spec.health } : {}),
    ...(spec.run.processes ? { processes: spec.run.processes } : {}),
  });
}

/**
 * `sha256:<hex>` of the template's canonical text: keys in a fixed order, lists sorted where order
 * means nothing. Equal templates have equal digests, whatever order they were written in.
 */
export function runTemplateDigest(template: RunTemplate): `sha256:${string}` {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(normalized(template)))
    .digest('hex')}`;
}

/** The fields admission compares: everything the gate judged. The health check is the fleet's to tune. */
export const judgedFields = [
  'user',
  'writable',
  'writableRoot',
  'capabilities',
  'ports',
  'entrypoint',
  'cmd',
  'env',
  'processes',
] as const;

export type JudgedField = (typeof judgedFields)[number];

export interface TemplateDifference {
  field: JudgedField;
  /** As a person reads it: `65532:65532`, `[/tmp, /var/cache/app]`. */
  attested: string;
  requested: string;
}

/** Pure: where `requested` differs from `attested` in a judged field, in `judgedFields` order. */
export function judgedDifferences(attested: RunTemplate, requested: RunTemplate): TemplateDifference[] {
  const [a, b] = [normalized(attested), normalized(requested)];
  return judgedFields.flatMap((field) => {
    const [left, right] = [describeField(a, field), describeField(b, field)];
    return left === right ? [] : [{ field, attested: left, requested: right }];
  });
}

function describeField(template: RunTemplate, field: JudgedField): string {
  switch (field) {
    case 'user':
      return `${template.user.uid}:${template.user.gid}`;
    case 'writableRoot':
      return String(template.writableRoot);
    case 'ports':
      return `[${template.ports.map((port) => `${port.port}/${port.protocol}`).join(', ')}]`;
    case 'writable':
    case 'capabilities':
    case 'entrypoint':
    case 'cmd':
    case 'env':
      return `[${template[field].map((item) => JSON.stringify(item)).join(', ')}]`;
    case 'processes':
      return template.processes
        ? `[${template.processes.map((item) => JSON.stringify(item)).join(', ')}]`
        : '(the default: entrypoint and init)';
    default:
      return assertNever(field);
  }
}

const whole = (min: number, max: number) => z.number().int().min(min).max(max);
const maxId = 2 ** 31 - 1;
const Port = z.strictObject({ port: whole(1, 65_535), protocol: z.enum(['tcp', 'udp']) });
const timing = {
  port: whole(1, 65_535),
  intervalSeconds: z.number().positive(),
  timeoutSeconds: z.number().positive(),
  retries: whole(1, 100),
};
const Health = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('http'), path: z.string().regex(/^\/\S*$/), ...timing }),
  z.strictObject({ kind: z.literal('tcp'), ...timing }),
]);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);

/**
 * A run template as read back from an attestation or herd.db: the untrusted edge. Every writable
 * path passes the same validator as the spec's (writable-paths.ts); an unknown version is refused.
 */
const RunTemplateFields = z.strictObject({
  version: z.literal(runTemplateVersion),
  user: z.strictObject({ uid: whole(0, maxId), gid: whole(0, maxId) }),
  writable: z.array(WritablePath),
  writableRoot: z.boolean(),
  capabilities: z.array(z.string().regex(/^CAP_[A-Z_]+$/)),
  ports: z.array(Port),
  entrypoint: z.array(z.string()),
  cmd: z.array(z.string()),
  env: z.array(envName),
  health: Health.optional(),
  processes: z
    .array(z.string().regex(/^\/[^\0]*$/))
    .min(1)
    .optional(),
});

/** Reads a run template; `where` names it in the error (`the run template attested for sha256:…`). */
export function parseRunTemplate(value: unknown, where: string): RunTemplate {
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof value === 'object' && value !== null && version !== runTemplateVersion) {
    throw new SpecError(
      'RUN_TEMPLATE_INVALID',
      `${where} has version ${describeValue(version)}, expected ${runTemplateVersion}: this herd reads only run template version ${runTemplateVersion}`,
    );
  }
  const parsed = RunTemplateFields.safeParse(value);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const at = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    throw new SpecError(
      'RUN_TEMPLATE_INVALID',
      `${where} is not a run template: ${at}${issue?.message ?? ''}`,
    );
  }
  return normalized(parsed.data as RunTemplate);
}

/** Fixed key order and sorted sets, so that JSON.stringify of it is canonical. */
function normalized(template: RunTemplate): RunTemplate {
  const sorted = (items: readonly string[]) => [...items].sort();
  return {
    version: template.version,
    user: { uid: template.user.uid, gid: template.user.gid },
    writable: sorted(template.writable),
    writableRoot: template.writableRoot,
    capabilities: sorted(template.capabilities),
    ports: [...template.ports]
      .map((port) => ({ port: port.port, protocol: port.protocol }))
      .sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol)),
    entrypoint: [...template.entrypoint],
    cmd: [...template.cmd],
    env: sorted(template.env),
    ...(template.health ? { health: normalizedHealth(template.health) } : {}),
    ...(template.processes ? { processes: sorted(template.processes) } : {}),
  };
}

function normalizedHealth(health: HealthCheck): HealthCheck {
  const timing = {
    port: health.port,
    intervalSeconds: health.intervalSeconds,
    timeoutSeconds: health.timeoutSeconds,
    retries: health.retries,
  };
  return health.kind === 'http' ? { kind: 'http', path: health.path, ...timing } : { kind: 'tcp', ...timing };
}

function assertNever(value: never): never {
  throw new Error(`unhandled run template field ${String(value)}`);
}
