/**
 * `herd init`: a commented herd.yaml to start from. Building the text is pure; writing it never
 * overwrites a spec and never leaves half a file behind.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createExclusive, exists, writeAtomic } from '../common/index.js';
import { describeValue, SpecError } from './errors.js';
import { specFileName } from './load.js';
import { packageRequestPattern, serviceNamePattern } from './schema.js';

export interface ScaffoldOptions {
  service: string;
  /** Debian packages the service needs; `ca-certificates` when none are given. */
  packages?: string[];
}

/** The scaffold's text. Throws SPEC_INVALID for a service or package name the schema would reject. */
export function scaffoldSpec(options: ScaffoldOptions): string {
  const { service } = options;
  const packages = options.packages && options.packages.length > 0 ? options.packages : ['ca-certificates'];
  if (!serviceNamePattern.test(service)) {
    throw new SpecError(
      'SPEC_INVALID',
      `service name ${describeValue(service)} is not a DNS label; expected lowercase letters, digits and "-", at most 63 long, starting and ending with a letter or digit`,
    );
  }
  for (const name of packages) {
    if (!packageRequestPattern.test(name)) {
      throw new SpecError(
        'SPEC_INVALID',
        `package ${describeValue(name)} is not a Debian package name; expected name, name=version or name/suite`,
      );
    }
  }
  return `# herd.yaml: what ${service}'s image is made of and how it runs. Reference: docs/spec.md.
# A field left out takes the default shown in its comment.
apiVersion: herd/v1
service: ${service}
# version: "0.1.0"
# description: what ${service} does

image:
  suite: bookworm          # suites: bookworm, bookworm-updates, bookworm-security
  # architecture: amd64
  packages:                # what the service needs; their dependencies are resolved for you
${packages.map((name) => `    - ${name}`).join('\n')}
  # recommends: false      # true also installs Recommends
  # exclude: []            # path patterns left out, added to the defaults (docs, man pages, locales)
  # strip: true           # also leaves out debug files, static libraries, headers and .d.ts (false keeps them)

# App files, copied from this folder into the image.
files: []
#  - src: server.js
#    dst: /app/server.js
#    mode: 0644            # octal; a leading zero is enough

run:
  user: 65532              # "nonroot"; 0 is root, and the gate will ask why
  workdir: /
  # entrypoint: [/usr/bin/node]   # exec form: there is no shell in the image
  # cmd: [/app/server.js]
  writable: [/tmp]         # tmpfs at run time; the rest of the filesystem is read-only
  # writableRoot: false    # true weakens the hardening, for software that must write elsewhere

# Configuration comes from the environment only. A secret never has a default: it is given at start.
env: {}
#  GREETING: hello
#  DATABASE_PASSWORD: { secret: true, required: true }

ports: []
#  - 8080

# health:
#   http: { path: /healthz, port: 8080 }   # or tcp: { port: 8080 }
#   interval: 10s
#   timeout: 3s
#   retries: 3

# watch:
#   webhook: https://alerts.example/herd   # one JSON POST per incident; else HERD_WATCH_WEBHOOK
#   updates: { interval: 5m }              # how often herd looks for fixes to the deployed image
#   maxImageAge: 30d                       # rebuild and replace an older image even without a fix

# Checks a rebuilt image's candidate instance must pass before it replaces the fleet.
# accept:
#   - http: { path: /, port: 8080, status: 200, body: "hello" }
#   - healthy: { within: 60s }

# policy:
#   trigger: any                           # or security (with urgency: high, say)
#   window: { days: [sat, sun], from: "02:00", to: "06:00" }   # UTC; absent: any time
#   promote: auto                          # or manual: held for herd approve
`;
}

/**
 * Writes `<dir>/herd.yaml` (creating `dir`) and returns its path. Throws SPEC_EXISTS rather than
 * overwrite a spec.
 */
export async function writeSpecScaffold(dir: string, options: ScaffoldOptions): Promise<string> {
  const text = scaffoldSpec(options);
  const path = join(dir, specFileName);
  await mkdir(dir, { recursive: true });
  if (await exists(path)) throw specExists(path);
  // The spec is the user's, so it gets the umask's mode, not HERD_HOME's 0600.
  const written = { mode: 0o666, sync: true };
  try {
    if (!(await createExclusive(path, text, written))) throw specExists(path);
  } catch (cause) {
    // Filesystems without hard links get a rename after the check above.
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw cause;
    await writeAtomic(path, text, written);
  }
  return path;
}

function specExists(path: string): SpecError {
  return new SpecError(
    'SPEC_EXISTS',
    `${path} already exists; expected a folder without a herd.yaml (edit the spec instead)`,
  );
}
