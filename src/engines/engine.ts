/**
 * Where instances run. The fleet controller and the monitors see only this interface; `server` and
 * `cli` pick a concrete engine (docker/, memory/). An engine creates and destroys instances and
 * reports what it sees: it has no exec, shell, copy-in or patch operation, by design (DESIGN.md,
 * "Immutability").
 */
import { HerdError } from '../herd-error.js';

/** Labels every herd instance carries, so a restarted controller can adopt what it finds. */
export const instanceLabels = {
  managedBy: 'dev.herd.managed-by',
  service: 'dev.herd.service',
  release: 'dev.herd.release',
  digest: 'dev.herd.digest',
  /** The digest of the run template the instance was made from (spec/run-template.ts). */
  template: 'dev.herd.template',
} as const;

/**
 * The labels an instance is created with: the spec's extra labels, less any that bears one of
 * herd's own names, then herd's own, so an extra label cannot pose as another service, release,
 * digest or template.
 */
export function labelsFor(spec: InstanceSpec): Record<string, string> {
  const herdOwn = Object.values(instanceLabels) as string[];
  const extra = Object.entries(spec.labels ?? {}).filter(([name]) => !herdOwn.includes(name));
  return {
    ...Object.fromEntries(extra),
    [instanceLabels.managedBy]: 'herd',
    [instanceLabels.service]: spec.service,
    [instanceLabels.release]: spec.release,
    [instanceLabels.digest]: spec.digest,
    ...(spec.templateDigest ? { [instanceLabels.template]: spec.templateDigest } : {}),
  };
}

/** What an instance is made from; the engine applies the hardening, the caller cannot turn it off. */
export interface InstanceSpec {
  service: string;
  /** Catalog release id the instance belongs to. */
  release: string;
  /** Manifest digest of the image; the only way an image is named. */
  digest: `sha256:${string}`;
  /** The digest of the run template the instance is made from, labelled so the watch can find it. */
  templateDigest?: `sha256:${string}`;
  /** Where the engine pulls it from, e.g. `127.0.0.1:5001/hello@sha256:…`; by digest only. */
  imageRef: string;
  /** Run as this user (uid:gid); never root. */
  user: { uid: number; gid: number };
  env: Record<string, string>;
  /** Paths that get a tmpfs (noexec,nosuid); everything else is read-only unless `writableRoot`. */
  writable: string[];
  /**
   * The spec's opt-in `run.writableRoot`: the root filesystem is writable. Only that: every other
   * part of the hardening stays, and the integrity monitor still treats a change as drift.
   */
  writableRoot?: boolean;
  /** The container port to publish on an ephemeral loopback host port, for health and the front door. */
  port?: number;
  resources: { memoryBytes: number; nanoCpus: number; pids: number };
  /** Seconds between SIGTERM and SIGKILL when the instance is removed. */
  stopGraceSeconds: number;
  /** Extra labels (the engine adds `instanceLabels`). */
  labels?: Record<string, string>;
}

export type InstanceState = 'created' | 'running' | 'exited' | 'removing' | 'unknown';

/** An instance as the engine sees it now. */
export interface Instance {
  /** Engine-assigned id; instances have no names. */
  id: string;
  service: string;
  release: string;
  digest: `sha256:${string}`;
  state: InstanceState;
  /** Set when state is `exited`. */
  exitCode?: number;
  /** `127.0.0.1:<port>` the published container port is reachable at, when running. */
  address?: { host: string; port: number };
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt?: number;
  labels: Record<string, string>;
}

/** What the engine reports as it happens; the controller resyncs on a timer as well, events can be lost. */
export type EngineEvent =
  | { kind: 'started'; id: string }
  | { kind: 'exited'; id: string; exitCode: number }
  | { kind: 'removed'; id: string }
  /**
   * Someone opened an exec session on an instance (engine events exec_create / exec_start). herd has
   * no exec in any API, so this is always an incident.
   */
  | { kind: 'exec'; id: string; command?: string };

/** One path the engine says differs from the image (Docker's `GET /containers/{id}/changes`). */
export interface FilesystemChange {
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

/** One line of an instance's output, as it happened. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Epoch milliseconds, from the engine's timestamps. */
  time: number;
  text: string;
}

export interface EngineInfo {
  name: string;
  version: string;
}

export interface Engine {
  info(): Promise<EngineInfo>;
  /** Makes the image available to the engine; a no-op when it has it already. */
  ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void>;
  /** Creates and starts a hardened instance; resolves once the engine says it is running. */
  create(spec: InstanceSpec): Promise<Instance>;
  /** Stops with the instance's grace period, then removes it. Removing an unknown id is not an error. */
  remove(id: string): Promise<void>;
  /** herd's instances (label `dev.herd.managed-by=herd`), optionally of one service. */
  list(filter?: { service?: string }): Promise<Instance[]>;
  /** The last lines of an instance's output, stdout and stderr interleaved. */
  logs(id: string, options?: { tail?: number }): Promise<string>;
  /** Engine events until the signal aborts. */
  events(signal: AbortSignal): AsyncIterable<EngineEvent>;
  /**
   * The instance's output from `since` (epoch ms; all when absent) and then as it comes, until the
   * instance is gone or the signal aborts. Reading to the end after an exit loses nothing.
   */
  followLogs(id: string, options: { since?: number; signal: AbortSignal }): AsyncIterable<LogLine>;
  /** Paths that differ from the image: the overlay's upper layer, read by the engine. */
  changes(id: string): Promise<FilesystemChange[]>;
  /** The instance's whole filesystem as a tar stream (`GET /containers/{id}/export`). */
  exportFilesystem(id: string, options: { signal?: AbortSignal }): Promise<NodeJS.ReadableStream>;
  /**
   * One path of the running instance as a tar stream, seen from inside it (`GET /containers/{id}/archive`):
   * the only way to read a tmpfs, which neither `changes` nor the export sees. Read-only, like the rest.
   */
  readPath(id: string, path: string, options: { signal?: AbortSignal }): Promise<NodeJS.ReadableStream>;
}

/** NOT_INSTALLED: the engine's programs (podman, runc, catatonit) are missing on this machine. */
export type EngineErrorCode =
  | 'UNREACHABLE'
  | 'NOT_INSTALLED'
  | 'IMAGE'
  | 'PORT_TAKEN'
  | 'CREATE'
  | 'NOT_FOUND'
  | 'OTHER';

/** Thrown for what the engine cannot do; the message names the engine and what was asked. */
export class EngineError extends HerdError<EngineErrorCode> {}
