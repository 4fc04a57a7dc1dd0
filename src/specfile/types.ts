/**
 * herd.yaml v1, after validation and defaults. The zod schema in `schema.ts` is the edge that
 * produces this; everything past the loader trusts these types.
 */
import type { AcceptCheck } from './accept-section.js';
import type { FleetSection } from './fleet-section.js';
import type { GateSection } from './gate-section.js';
import type { PolicySection } from './policy-section.js';
import type { StripGroup } from './strip-groups.js';
import type { WatchSection } from './watch-section.js';

export interface Spec {
  apiVersion: 'herd/v1';
  /** Service name: lowercase DNS label. Names the image in the store and the fleet. */
  service: string;
  /** Optional semver-ish version, recorded as org.opencontainers.image.version. */
  version?: string;
  description?: string;
  image: ImageSpec;
  files: AppFile[];
  run: RunSpec;
  env: Record<string, EnvVar>;
  ports: PortSpec[];
  health?: HealthCheck;
  /** How the gate judges the image; every default filled in (`defaultGateSection`). */
  gate: GateSection;
  /** How the fleet runs: size, front-door port, rollout strategy, limits; every default filled in. */
  fleet: FleetSection;
  /**
   * Where the integrity monitor sends its alerts, how often the update monitor looks and how old an
   * image may get; every default filled in (`defaultWatchSection`).
   */
  watch: WatchSection;
  /**
   * Checks a candidate instance of a rebuilt image must pass before the release goes on; `[]` when
   * absent (the candidate is still waited on until healthy).
   */
  accept: AcceptCheck[];
  /** How remediation runs go: trigger, window, promotion, concurrency (`defaultPolicySection`). */
  policy: PolicySection;
}

export interface ImageSpec {
  /** The image this one builds on; absent for an image made from packages alone. */
  from?: BaseImageRef;
  distribution: 'debian';
  /**
   * The main suite, by codename, e.g. bookworm: the default `suites` derive from it, and purls and
   * vulnerability matching use it.
   */
  suite: string;
  /** Suites to resolve from, highest version wins across them. */
  suites: string[];
  components: string[];
  architecture: string;
  /** When absent, the repositories come from the host's apt sources. */
  repositories?: RepositorySpec[];
  /** Empty only when `from` is given: an image may add nothing but app files to its base. */
  packages: string[];
  recommends: boolean;
  /** Glob patterns of image paths left out of the image. */
  exclude: string[];
  /** Glob patterns that win over `exclude` (copyright files by default). */
  keep: string[];
  /** Groups of files left out as well (strip-groups.ts); `keep` wins over them too. */
  strip: StripGroup[];
}

/** Catalog stages, in the order a release moves through them (src/catalog/stages.ts keeps the same). */
export type BaseImageStage = 'candidate' | 'accepted' | 'production';

/**
 * `image.from`: a base image named by digest (it must be in the local store), or by a service's
 * current release at a stage of the catalog. Either way the lock pins the digest it resolved to.
 */
export type BaseImageRef =
  | { kind: 'digest'; digest: `sha256:${string}` }
  | { kind: 'release'; service: string; stage: BaseImageStage };

export interface RepositorySpec {
  uri: string;
  suites: string[];
  components: string[];
  /** Path to an OpenPGP keyring (binary or armored) that must have signed InRelease. */
  keyring: string;
}

export interface AppFile {
  /** Path relative to the spec file's folder. */
  src: string;
  /** Absolute path in the image. */
  dst: string;
  /** Numeric mode, e.g. 0o644. */
  mode: number;
  uid: number;
  gid: number;
}

export interface RunSpec {
  user: { name: string; uid: number; gid: number };
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  /** Paths that will be writable (tmpfs) at run time; declared here for the fleet and the gate. */
  writable: string[];
  /**
   * Opt-in: the root filesystem is writable, for software that insists on writing outside its
   * declared paths. Weaker than the default; the gate warns (HERD-H014) and drift still replaces.
   */
  writableRoot: boolean;
  /**
   * The executables that may run in an instance (absolute paths in the image); anything else
   * running is an incident. Absent: the image's entrypoint, cmd's program when it is one, and the
   * engine's init.
   */
  processes?: string[];
}

export interface EnvVar {
  default?: string;
  required: boolean;
  /** A secret is never given a default and never written into the image config. */
  secret: boolean;
  description?: string;
}

export interface PortSpec {
  port: number;
  protocol: 'tcp' | 'udp';
}

export type HealthCheck =
  | {
      kind: 'http';
      path: string;
      port: number;
      intervalSeconds: number;
      timeoutSeconds: number;
      retries: number;
    }
  | { kind: 'tcp'; port: number; intervalSeconds: number; timeoutSeconds: number; retries: number };

/** A loaded spec together with where it came from, so later errors can name the file. */
export interface LoadedSpec {
  spec: Spec;
  /** Absolute path of herd.yaml. */
  path: string;
  /** Folder that `files[].src` is relative to. */
  dir: string;
  /** sha256 of the spec file's bytes, recorded in the lock. */
  digest: `sha256:${string}`;
}
