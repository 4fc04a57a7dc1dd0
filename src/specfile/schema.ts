/**
 * herd.yaml v1 as it arrives: the untrusted edge. Every field says what it expects, unknown fields
 * are errors, and the transforms fill in the defaults, so the output is a `Spec` that the rest of
 * herd trusts. The reference for users is docs/spec.md; keep the two in step.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { AcceptChecks, acceptPortProblems } from './accept-section.js';
import { describeValue } from './errors.js';
import { defaultFleetSection, FleetSection } from './fleet-section.js';
import { defaultGateSection, GateSection } from './gate-section.js';
import { defaultPolicySection, PolicySection } from './policy-section.js';
import {
  atKey,
  duration,
  expecting,
  fields,
  flag,
  isMapping,
  listOf,
  nearestName,
  optional,
  pattern,
  text,
  uniqueItems,
  whenValid,
  wholeNumber,
} from './schema-fields.js';
import { defaultStrip, stripGroupNames } from './strip-groups.js';
import type * as types from './types.js';
import { defaultWatchSection, WatchSection } from './watch-section.js';
import { WritablePath, writablePathProblems } from './writable-paths.js';

/** A DNS label (RFC 1123), so the name works as an image name, a hostname and a Kubernetes name. */
export const serviceNamePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `name`, `name=version` or `name/suite`, as src/debian/resolve.ts accepts them (Debian Policy §5.6.1, §5.6.12). */
export const packageRequestPattern =
  /^[a-z0-9][a-z0-9+.-]+(?:=(?:[0-9]+:)?[0-9][A-Za-z0-9.+~:-]*|\/[a-z0-9][a-z0-9.-]*)?$/;

export const defaultSuite = 'bookworm';

/**
 * Paths no service reads at run time. Not /usr/share/i18n (glibc locale sources) nor
 * /usr/share/common-licenses (license texts that copyright files refer to).
 */
export const defaultExclude: readonly string[] = [
  '/usr/share/doc/**',
  '/usr/share/man/**',
  '/usr/share/info/**',
  '/usr/share/locale/**',
  '/usr/share/lintian/**',
  '/usr/share/linda/**',
  '/usr/share/doc-base/**',
  '/usr/share/bug/**',
  '/usr/share/menu/**',
  '/usr/share/gtk-doc/**',
  '/usr/share/help/**',
  '/usr/share/groff/**',
];

/** Copyright files stay: licenses require them, and scanners read them. */
export const defaultKeep: readonly string[] = ['/usr/share/doc/*/copyright'];

/** The distroless `nonroot` account. */
export const nonrootUid = 65532;

/** Suites apt would use beside a stable suite; development suites have no -updates or -security. */
export function defaultSuites(suite: string): string[] {
  return ['sid', 'unstable', 'experimental'].includes(suite)
    ? [suite]
    : [suite, `${suite}-updates`, `${suite}-security`];
}

// ---------------------------------------------------------------------------------------------- image

const suiteName = pattern(/^[a-z0-9][a-z0-9.-]*$/, 'a suite name such as bookworm-updates');
const componentName = pattern(/^[a-z0-9][a-z0-9-]*$/, 'a component name such as main');
const uniqueNames = (what: string) =>
  uniqueItems(
    (name: string) => name,
    (name) => `${what} "${name}"`,
  );

const Repository = fields(
  {
    uri: pattern(/^(?:https?|file):\/\/\S+$/, 'an http://, https:// or file:// URI'),
    suites: listOf(suiteName, 'a list of suites', { nonEmpty: true }).check(uniqueNames('suite')),
    components: optional(
      listOf(componentName, 'a list of components', { nonEmpty: true }).check(uniqueNames('component')),
    ),
    keyring: text('the path of an OpenPGP keyring that signs the repository'),
  },
  'a mapping with uri, suites, components and keyring',
).transform(
  (raw): types.RepositorySpec => ({
    uri: raw.uri,
    suites: raw.suites,
    components: raw.components ?? ['main'],
    keyring: raw.keyring,
  }),
);

const pathPattern = pattern(/^\/[^\0]*$/, 'an absolute path pattern such as /usr/share/doc/**');

function packageNameOf(request: string): string {
  return request.split(/[=/]/, 1)[0] ?? request;
}

/** Catalog stages a base may come from (src/catalog/stages.ts has the same; this folder is a leaf). */
export const baseImageStages: readonly types.BaseImageStage[] = ['candidate', 'accepted', 'production'];

const baseImageExpectation =
  'a base image: a catalog service such as base or base@accepted, or a digest sha256:<64 hex digits>';

/** `sha256:<hex>`, or `<service>[@<stage>]` with the stage `production` when left out. */
const BaseImage = z
  .string(expecting(baseImageExpectation))
  .superRefine((value, ctx) => {
    const problem = baseImageProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
  })
  .transform((value): types.BaseImageRef => {
    if (value.startsWith('sha256:')) return { kind: 'digest', digest: value as `sha256:${string}` };
    const [service = value, stage = 'production'] = value.split('@');
    return { kind: 'release', service, stage: stage as types.BaseImageStage };
  });

function baseImageProblem(value: string): string | undefined {
  if (/^sha256:[0-9a-f]{64}$/.test(value)) return undefined;
  const got = describeValue(value);
  if (value.startsWith('sha256:')) return `expected a digest sha256:<64 lowercase hex digits>, got ${got}`;
  const [service = '', stage, ...rest] = value.split('@');
  if (rest.length === 0 && serviceNamePattern.test(service)) {
    if (stage === undefined || (baseImageStages as readonly string[]).includes(stage)) return undefined;
    return `expected a stage after "@" (candidate, accepted or production), got ${got}`;
  }
  // A registry reference is the commonest mistake: a tag is resolved once, by herd pull, never here.
  const hint = /[:/]/.test(value)
    ? '; herd builds only on images in its catalog or store, so pull a registry image first and name it by digest'
    : '';
  return `expected ${baseImageExpectation}, got ${got}${hint}`;
}

/** With a base, `packages` may be left out: the image may add only app files to it. */
function packagesDefaultWithBase(value: unknown): unknown {
  return isMapping(value) && value.from != null && value.packages == null
    ? { ...value, packages: [] }
    : value;
}

/** An empty package list is fine on a base only; without one there would be nothing to build. */
const packagesWithoutBase = z.superRefine(
  (value: unknown, ctx) => {
    if (!isMapping(value) || value.from != null) return;
    if (Array.isArray(value.packages) && value.packages.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['packages'],
        input: value.packages,
        message: `expected a non-empty list of Debian package names, got ${describeValue(value.packages)}`,
      });
    }
  },
  // Reported together with every other problem, like a missing field.
  { when: () => true },
);

const stripGroupExpectation = (input: unknown): string => {
  const nearest = typeof input === 'string' ? nearestName(input, stripGroupNames) : undefined;
  return `expected a strip group (${stripGroupNames.join(', ')}), got ${describeValue(input)}${
    nearest === undefined ? '' : ` (did you mean "${nearest}"?)`
  }`;
};

const StripGroupName = z.enum(stripGroupNames, expecting(stripGroupExpectation));

const stripExpectation = (input: unknown): string => {
  const oneGroup = typeof input === 'string' && (stripGroupNames as readonly string[]).includes(input);
  return `expected true, false, or a list of strip groups (${stripGroupNames.join(', ')}), got ${describeValue(input)}${
    oneGroup ? `; write one group as a list: [${input}]` : ''
  }`;
};

/** `true` is the default groups and `false` none; a list names exactly the groups to leave out. */
const Strip = z.preprocess(
  (value) => (value === true ? [...defaultStrip] : value === false ? [] : value),
  z
    .array(StripGroupName, expecting(stripExpectation))
    .check(uniqueItems(String, (name) => `strip group "${name}"`)),
);

const RawImageFields = fields(
  {
    from: optional(BaseImage),
    distribution: optional(
      z.literal('debian', expecting('"debian", the only distribution herd builds from')),
    ),
    suite: optional(pattern(/^[a-z][a-z0-9-]*$/, 'a Debian suite codename such as bookworm')),
    suites: optional(listOf(suiteName, 'a list of suites', { nonEmpty: true }).check(uniqueNames('suite'))),
    components: optional(
      listOf(componentName, 'a list of components', { nonEmpty: true }).check(uniqueNames('component')),
    ),
    architecture: optional(pattern(/^[a-z0-9][a-z0-9-]*$/, 'a Debian architecture such as amd64 or arm64')),
    repositories: optional(listOf(Repository, 'a list of repositories', { nonEmpty: true })),
    packages: listOf(
      pattern(packageRequestPattern, 'a package name (name, name=version or name/suite)'),
      'a non-empty list of Debian package names',
    ).check(uniqueItems(packageNameOf, (name) => `package "${name}"`)),
    recommends: optional(flag()),
    exclude: optional(listOf(pathPattern, 'a list of path patterns')),
    excludeDefaults: optional(flag()),
    keep: optional(listOf(pathPattern, 'a list of path patterns')),
    strip: optional(Strip),
  },
  'a mapping of image fields',
  { renamed: { release: 'the main suite is called "suite" now' } },
).check(packagesWithoutBase);

const RawImage = z.preprocess(packagesDefaultWithBase, RawImageFields);

type RawImage = z.output<typeof RawImageFields>;

/** Named repositories replace the host's sources, so they decide the suites unless the spec does. */
function suitesOf(raw: RawImage): string[] {
  if (raw.suites) return raw.suites;
  if (raw.repositories) return [...new Set(raw.repositories.flatMap((repository) => repository.suites))];
  return defaultSuites(raw.suite ?? defaultSuite);
}

/** Every suite needs a source: a `name/suite` pin among the suites, a named repository for each suite. */
function checkImageSources(raw: RawImage, ctx: z.RefinementCtx): void {
  const suites = suitesOf(raw);
  for (const [index, request] of raw.packages.entries()) {
    const suite = request.split('/')[1];
    if (suite !== undefined && !suites.includes(suite)) {
      ctx.addIssue({
        code: 'custom',
        path: ['packages', index],
        input: request,
        message: `suite "${suite}" is not among the image's suites (${suites.join(', ')}); add it to image.suites`,
      });
    }
  }
  if (!raw.repositories) return;
  const components = raw.components ?? ['main'];
  for (const [index, suite] of suites.entries()) {
    const served = raw.repositories.some(
      (repository) =>
        repository.suites.includes(suite) && components.every((c) => repository.components.includes(c)),
    );
    if (!served) {
      ctx.addIssue({
        code: 'custom',
        path: raw.suites ? ['suites', index] : ['repositories'],
        input: suite,
        message: `no repository in image.repositories serves suite "${suite}" with components ${components.join(', ')}`,
      });
    }
  }
}

const Image = RawImage.superRefine(checkImageSources, whenValid).transform((raw): types.ImageSpec => {
  // The user's lists add to the defaults; `excludeDefaults: false` makes them the whole lists.
  const withDefaults = raw.excludeDefaults ?? true;
  return {
    ...(raw.from ? { from: raw.from } : {}),
    distribution: 'debian',
    suite: raw.suite ?? defaultSuite,
    suites: suitesOf(raw),
    components: raw.components ?? ['main'],
    architecture: raw.architecture ?? 'amd64',
    ...(raw.repositories ? { repositories: raw.repositories } : {}),
    packages: raw.packages,
    recommends: raw.recommends ?? false,
    exclude: [...(withDefaults ? defaultExclude : []), ...(raw.exclude ?? [])],
    keep: [...(withDefaults ? defaultKeep : []), ...(raw.keep ?? [])],
    // Like the default exclude list, the default groups go with excludeDefaults: false.
    strip: raw.strip ?? (withDefaults ? [...defaultStrip] : []),
  };
});

// ---------------------------------------------------------------------------------------------- paths

/** An absolute, normalized path in the image; suggests the normalized form when that is what was meant. */
function imagePath(what: string, options: { allowRoot: boolean }) {
  return z.string(expecting(what)).superRefine((value, ctx) => {
    const normalized = posix.normalize(value).replace(/(.)\/$/, '$1');
    const fine = value.startsWith('/') && normalized === value && !value.includes('\0');
    if (fine && (options.allowRoot || value !== '/')) return;
    const suggestion = normalized.startsWith('/') ? normalized : posix.normalize(`/${normalized}`);
    const hint = suggestion !== value && suggestion !== '/' ? ` (did you mean "${suggestion}"?)` : '';
    ctx.addIssue({
      code: 'custom',
      input: value,
      message: `expected ${what}, got ${describeValue(value)}${hint}`,
    });
  });
}

/** A path beside herd.yaml: relative, and never reaching out of the spec's folder. */
const sourcePath = z
  .string(expecting("a path relative to the spec's folder such as server.js"))
  .superRefine((value, ctx) => {
    const problem =
      value === ''
        ? "expected a path relative to the spec's folder such as server.js, got an empty string"
        : value.startsWith('/')
          ? `expected a path relative to the spec's folder, got ${describeValue(value)}; app files come from beside herd.yaml`
          : value.split('/').includes('..')
            ? `expected a path inside the spec's folder, got ${describeValue(value)}; ".." is not allowed`
            : value.includes('\0')
              ? `expected a path, got ${describeValue(value)}`
              : undefined;
    if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
  })
  .transform((value) => posix.normalize(value));

// ---------------------------------------------------------------------------------------------- files

const maxId = 2 ** 31 - 1;

/** Permission bits only: setuid, setgid and sticky bits have no place in an app file. */
const fileModeExpectation = (input: unknown) => {
  const decimalLooksOctal = typeof input === 'number' && input > 0o777 && /^[0-7]+$/.test(String(input));
  return `expected a file mode from 0 to 0777 such as 0644, got ${describeValue(input)}${
    decimalLooksOctal ? `; YAML read it as decimal, so write 0${input} or "0${input}"` : ''
  }`;
};

const FileMode = z.union(
  [
    wholeNumber(fileModeExpectation, { min: 0, max: 0o777 }),
    // YAML 1.2 reads 0644 as decimal 644; load.ts reads it as octal, and a string says so outright.
    pattern(/^(?:0o?)?[0-7]{1,3}$/, fileModeExpectation).transform((value) =>
      Number.parseInt(value.replace(/^0o/, ''), 8),
    ),
  ],
  expecting(fileModeExpectation),
);

const ownerExpectation = 'an owner "uid:gid" with numeric ids such as "0:0", or one uid';

const Owner = z.union(
  [
    wholeNumber(ownerExpectation, { min: 0, max: maxId }).transform((id) => ({ uid: id, gid: id })),
    pattern(/^\d{1,10}(?::\d{1,10})?$/, ownerExpectation)
      .refine((value) => value.split(':').every((id) => Number(id) <= maxId), expecting(ownerExpectation))
      .transform((value) => {
        const [uid = 0, gid = uid] = value.split(':').map(Number);
        return { uid, gid };
      }),
  ],
  expecting(ownerExpectation),
);

const AppFile = fields(
  {
    src: sourcePath,
    dst: imagePath('an absolute file path in the image such as /app/server.js', { allowRoot: false }),
    mode: optional(FileMode),
    owner: optional(Owner),
  },
  'a mapping with src, dst, mode and owner',
).transform(
  (raw): types.AppFile => ({
    src: raw.src,
    dst: raw.dst,
    mode: raw.mode ?? 0o644,
    uid: raw.owner?.uid ?? 0,
    gid: raw.owner?.gid ?? 0,
  }),
);

// ---------------------------------------------------------------------------------------------- run

const userId = wholeNumber(`a user id from 0 to ${maxId}`, { min: 0, max: maxId });

function userNameFor(uid: number): string {
  return uid === nonrootUid ? 'nonroot' : uid === 0 ? 'root' : 'app';
}

/** root and nonroot are always in /etc/passwd (src/builder/accounts.ts); a spec may not rename them. */
function checkReservedAccount(user: types.RunSpec['user'], ctx: z.RefinementCtx): void {
  for (const [name, uid] of [
    ['root', 0],
    ['nonroot', nonrootUid],
  ] as const) {
    if ((user.name === name) !== (user.uid === uid)) {
      ctx.addIssue({
        code: 'custom',
        path: [user.name === name ? 'uid' : 'name'],
        input: user,
        message: `"${name}" is always uid ${uid}, got name "${user.name}" with uid ${user.uid}`,
      });
    }
  }
}

const User = z.union(
  [
    userId.transform((uid) => ({ name: userNameFor(uid), uid, gid: uid })),
    fields(
      {
        name: pattern(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name such as app'),
        uid: userId,
        gid: optional(wholeNumber(`a group id from 0 to ${maxId}`, { min: 0, max: maxId })),
      },
      'a mapping with name, uid and gid',
    )
      .transform((raw) => ({ name: raw.name, uid: raw.uid, gid: raw.gid ?? raw.uid }))
      .superRefine(checkReservedAccount, whenValid),
  ],
  expecting('a user id such as 65532, or a mapping with name, uid and gid'),
);

const commandExpectation = 'a list of arguments such as [/usr/bin/node, /app/server.js], or one program path';

/** Exec form only: there is no shell in the image to split a command line. */
const Command = z.union(
  [
    z
      .string()
      .superRefine((value, ctx) => {
        if (value !== '' && !/\s/.test(value)) return;
        const words = value.split(/\s+/).filter(Boolean);
        ctx.addIssue({
          code: 'custom',
          input: value,
          message:
            words.length > 1
              ? `expected ${commandExpectation}, got ${describeValue(value)}; there is no shell in the image, so write it as a list: ${JSON.stringify(words)}`
              : `expected ${commandExpectation}, got ${describeValue(value)}`,
        });
      })
      .transform((value) => [value]),
    listOf(z.string(expecting('an argument (a string)')), commandExpectation),
  ],
  expecting(commandExpectation),
);

const Run = fields(
  {
    user: optional(User),
    workdir: optional(imagePath('an absolute folder path such as /app', { allowRoot: true })),
    entrypoint: optional(Command),
    cmd: optional(Command),
    writable: optional(listOf(WritablePath, 'a list of absolute folder paths').check(uniqueNames('path'))),
    writableRoot: optional(flag()),
    processes: optional(
      listOf(
        imagePath('the absolute path of an executable such as /usr/bin/node', { allowRoot: false }),
        'a non-empty list of the executables that may run, such as [/usr/bin/node]',
        { nonEmpty: true },
      ).check(uniqueNames('executable')),
    ),
  },
  'a mapping of run fields',
).transform(toRunSpec);

function toRunSpec(raw: {
  user?: types.RunSpec['user'] | undefined;
  workdir?: string | undefined;
  entrypoint?: string[] | undefined;
  cmd?: string[] | undefined;
  writable?: string[] | undefined;
  writableRoot?: boolean | undefined;
  processes?: string[] | undefined;
}): types.RunSpec {
  return {
    user: raw.user ?? { name: 'nonroot', uid: nonrootUid, gid: nonrootUid },
    workdir: raw.workdir ?? '/',
    entrypoint: raw.entrypoint ?? [],
    cmd: raw.cmd ?? [],
    writable: raw.writable ?? ['/tmp'],
    // Read-only unless the spec says otherwise in so many words (docs/architecture.md, "Hardened by default").
    writableRoot: raw.writableRoot ?? false,
    // Left out: the image's entrypoint (and cmd's program) and the init (src/watch/allowed-processes.ts).
    ...(raw.processes ? { processes: raw.processes } : {}),
  };
}

// ---------------------------------------------------------------------------------------------- env

/** Names that say "credential". Their defaults would ship in the image for anyone who pulls it. */
const credentialName = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY)/i;

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Text that YAML may have read as a number or boolean: say how to keep it text. */
function textExpectation(what: string) {
  return (input: unknown) =>
    typeof input === 'number' || typeof input === 'boolean'
      ? `expected ${what}, got ${describeValue(input)}; quote it ("${input}") so YAML keeps it text`
      : `expected ${what}, got ${describeValue(input)}`;
}

/** An env entry as written; `secret` stays undefined when left out, which the credential check needs. */
const RawEnvVar = z.union(
  [
    z.string().transform((value): RawEnvVarFields => ({ form: 'plain', default: value })),
    fields(
      {
        default: optional(z.string(expecting(textExpectation('a string')))),
        required: optional(flag()),
        secret: optional(flag()),
        description: optional(z.string(expecting('a description (a string)'))),
      },
      'a mapping with default, required, secret and description',
    )
      .transform((raw): RawEnvVarFields => ({ form: 'mapping', ...raw }))
      .superRefine((raw, ctx) => {
        if (raw.secret === true && raw.default !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['default'],
            input: '(hidden)',
            message:
              'a secret has no default: secrets come from the environment at start, never from the image; remove the default',
          });
        }
      }),
  ],
  expecting((input) =>
    typeof input === 'number' || typeof input === 'boolean'
      ? textExpectation('a string')(input)
      : textExpectation(
          'a default value (a string) or a mapping with default, required, secret and description',
        )(input),
  ),
);

interface RawEnvVarFields {
  /** `NAME: value` or `NAME: { default: value, … }`, so a problem points at the value the user wrote. */
  form: 'plain' | 'mapping';
  default?: string | undefined;
  required?: boolean | undefined;
  secret?: boolean | undefined;
  description?: string | undefined;
}

const Env = z
  .record(z.string(), RawEnvVar, expecting('a mapping of variable names to defaults or settings'))
  .check(
    z.superRefine(
      (env: unknown, ctx) => {
        if (!isMapping(env)) return;
        for (const name of Object.keys(env)) {
          if (!envNamePattern.test(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [name],
              input: name,
              params: atKey,
              message: `expected a variable name (letters, digits and _, not starting with a digit), got ${describeValue(name)}`,
            });
          }
        }
      },
      { when: () => true },
    ),
  )
  .superRefine((env, ctx) => {
    for (const [name, variable] of Object.entries(env)) {
      if (credentialName.test(name) && variable.default !== undefined && variable.secret === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: variable.form === 'plain' ? [name] : [name, 'default'],
          input: '(hidden)',
          message:
            'looks like a credential but has a default, which would ship in the image; declare it { secret: true } without a default, or set secret: false if it is not one',
        });
      }
    }
  }, whenValid)
  .transform((env) =>
    Object.fromEntries(
      Object.entries(env).map(([name, raw]): [string, types.EnvVar] => [
        name,
        {
          ...(raw.default !== undefined ? { default: raw.default } : {}),
          required: raw.required ?? false,
          secret: raw.secret ?? false,
          ...(raw.description !== undefined ? { description: raw.description } : {}),
        },
      ]),
    ),
  );

// ---------------------------------------------------------------------------------------------- ports

const portNumberExpectation = 'a port number from 1 to 65535';
const portNumber = wholeNumber(portNumberExpectation, { min: 1, max: 65535 });
const portExpectation = 'a port such as 8080 or "8080/udp", or a mapping with port and protocol';

const Port = z.union(
  [
    portNumber.transform((port): types.PortSpec => ({ port, protocol: 'tcp' })),
    pattern(/^\d{1,5}(?:\/(?:tcp|udp))?$/, portExpectation)
      .refine((value) => Number(value.split('/')[0]) >= 1 && Number(value.split('/')[0]) <= 65535, {
        error: (issue) => `expected ${portNumberExpectation}, got ${describeValue(issue.input)}`,
      })
      .transform((value): types.PortSpec => {
        const [port, protocol] = value.split('/');
        return { port: Number(port), protocol: protocol === 'udp' ? 'udp' : 'tcp' };
      }),
    fields(
      { port: portNumber, protocol: optional(z.enum(['tcp', 'udp'], expecting('tcp or udp'))) },
      'a mapping with port and protocol',
    ).transform((raw): types.PortSpec => ({ port: raw.port, protocol: raw.protocol ?? 'tcp' })),
  ],
  expecting(portExpectation),
);

const Ports = listOf(Port, 'a list of ports').check(
  uniqueItems(
    (spec: types.PortSpec) => `${spec.port}/${spec.protocol}`,
    (key) => `port ${key}`,
  ),
);

// ---------------------------------------------------------------------------------------------- health

const Duration = duration('a duration above zero such as 500ms, 5s or 1m');

const Health = fields(
  {
    http: optional(
      fields(
        { path: pattern(/^\/\S*$/, 'an absolute URL path such as /healthz'), port: portNumber },
        'a mapping with path and port',
      ),
    ),
    tcp: optional(fields({ port: portNumber }, 'a mapping with port')),
    interval: optional(Duration),
    timeout: optional(Duration),
    retries: optional(wholeNumber('a number of retries from 1 to 100', { min: 1, max: 100 })),
  },
  'a mapping with http or tcp, interval, timeout and retries',
)
  .superRefine((raw, ctx) => {
    if ((raw.http === undefined) === (raw.tcp === undefined)) {
      ctx.addIssue({
        code: 'custom',
        input: raw,
        message: `expected exactly one of http or tcp, got ${raw.http ? 'both' : 'neither'}`,
      });
    }
  })
  .transform((raw): types.HealthCheck => {
    const timing = {
      intervalSeconds: raw.interval ?? 10,
      timeoutSeconds: raw.timeout ?? 3,
      retries: raw.retries ?? 3,
    };
    if (raw.http) return { kind: 'http', path: raw.http.path, port: raw.http.port, ...timing };
    // The refinement above leaves tcp as the only other case.
    return { kind: 'tcp', port: raw.tcp!.port, ...timing };
  });

// ---------------------------------------------------------------------------------------------- spec

const RawSpec = fields(
  {
    apiVersion: z.literal('herd/v1', expecting('"herd/v1"')),
    service: pattern(
      serviceNamePattern,
      'a service name of lowercase letters, digits and "-", at most 63 long, starting and ending with a letter or digit',
    ),
    version: optional(pattern(/^[0-9A-Za-z][0-9A-Za-z.+_~-]{0,127}$/, 'a version string such as "1.2.0"')),
    description: optional(z.string(expecting('a description (a string)'))),
    image: Image,
    files: optional(
      listOf(AppFile, 'a list of files').check(
        uniqueItems(
          (file: types.AppFile) => file.dst,
          (dst) => `dst ${dst}`,
        ),
      ),
    ),
    run: optional(Run),
    env: optional(Env),
    ports: optional(Ports),
    health: optional(Health),
    gate: optional(GateSection),
    fleet: optional(FleetSection),
    watch: optional(WatchSection),
    accept: optional(AcceptChecks),
    policy: optional(PolicySection),
  },
  'a mapping of herd.yaml fields',
);

/** The health check's port must be one the service declares, when it declares any. */
function checkHealthPort(raw: z.output<typeof RawSpec>, ctx: z.RefinementCtx): void {
  const health = raw.health;
  const ports = raw.ports ?? [];
  if (!health || ports.length === 0) return;
  if (ports.some((spec) => spec.port === health.port && spec.protocol === 'tcp')) return;
  const declared = ports.map((spec) => `${spec.port}/${spec.protocol}`).join(', ');
  ctx.addIssue({
    code: 'custom',
    path: ['health', health.kind, 'port'],
    input: health.port,
    message: `expected one of the declared tcp ports (${declared}), got ${health.port}`,
  });
}

/** An acceptance check reaches the candidate on a port the service declares (tcp). */
function checkAcceptPorts(raw: z.output<typeof RawSpec>, ctx: z.RefinementCtx): void {
  for (const { path, port, message } of acceptPortProblems(raw.accept ?? [], raw.ports ?? [])) {
    ctx.addIssue({ code: 'custom', path: ['accept', ...path], input: port, message });
  }
}

/** A writable path may not hide the app's own files (each path alone is checked in `Run`). */
function checkWritableOverAppFiles(raw: z.output<typeof RawSpec>, ctx: z.RefinementCtx): void {
  const writable = raw.run?.writable ?? [];
  const appFiles = (raw.files ?? []).map((file) => file.dst);
  for (const { index, message } of writablePathProblems(writable, { appFiles })) {
    ctx.addIssue({ code: 'custom', path: ['run', 'writable', index], input: writable[index], message });
  }
}

/** Cross-field checks run once the fields they read are valid, next to every other problem. */
function noIssuesUnder(...fieldNames: string[]) {
  return (payload: { issues: readonly { path?: PropertyKey[] }[] }) =>
    !payload.issues.some((issue) => {
      const head = issue.path?.[0];
      return head === undefined || fieldNames.includes(String(head));
    });
}

export const Spec = RawSpec.superRefine(checkHealthPort, {
  when: noIssuesUnder('ports', 'health'),
})
  .superRefine(checkWritableOverAppFiles, { when: noIssuesUnder('run', 'files') })
  .superRefine(checkAcceptPorts, { when: noIssuesUnder('ports', 'accept') })
  .transform(
    (raw): types.Spec => ({
      apiVersion: raw.apiVersion,
      service: raw.service,
      ...(raw.version !== undefined ? { version: raw.version } : {}),
      ...(raw.description !== undefined ? { description: raw.description } : {}),
      image: raw.image,
      files: raw.files ?? [],
      run: raw.run ?? toRunSpec({}),
      env: raw.env ?? {},
      ports: raw.ports ?? [],
      ...(raw.health ? { health: raw.health } : {}),
      gate: raw.gate ?? defaultGateSection,
      fleet: raw.fleet ?? defaultFleetSection,
      watch: raw.watch ?? defaultWatchSection,
      accept: raw.accept ?? [],
      policy: raw.policy ?? defaultPolicySection,
    }),
  );
