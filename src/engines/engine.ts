/**
 * Where instances run. The fleet controller and the monitors see only this interface; `server` and
 * `cli` pick a concrete engine (docker/, memory/). An engine creates and destroys instances and
 * reports what it sees: it has no shell, copy-in or patch operation, by design (docs/architecture.md,
 * "Immutability"), and one exec, `debugExec`, for the audited break-glass path alone.
 */
import { HerdError } from '../herd-error.js';

/** Labels every herd instance carries, so a restarted controller can adopt what it finds. */
export const instanceLabels = {
  managedBy: 'dev.herd.managed-by',
  service: 'dev.herd.service',
  revision: 'dev.herd.revision',
  digest: 'dev.herd.digest',
  /** The digest of the run template the instance was made from (specfile/run-template.ts). */
  template: 'dev.herd.template',
} as const;

/**
 * The revision's label as herd wrote it before the label was renamed. Read (never written) so that
 * instances a previous herd started are still adopted after an upgrade.
 */
export const legacyRevisionLabel = 'dev.herd.release';

/** An instance's revision from its labels: the current label, else the one a previous herd wrote. */
export function revisionFromLabels(labels: Readonly<Record<string, string>>): string | undefined {
  return labels[instanceLabels.revision] || labels[legacyRevisionLabel] || undefined;
}

/**
 * The labels an instance is created with: the spec's extra labels, less any that bears one of
 * herd's own names (or the revision's old name), then herd's own, so an extra label cannot pose as
 * another service, revision, digest or template.
 */
export function labelsFor(spec: InstanceSpec): Record<string, string> {
  const herdOwn = [...Object.values(instanceLabels), legacyRevisionLabel] as string[];
  const extra = Object.entries(spec.labels ?? {}).filter(([name]) => !herdOwn.includes(name));
  return {
    ...Object.fromEntries(extra),
    [instanceLabels.managedBy]: 'herd',
    [instanceLabels.service]: spec.service,
    [instanceLabels.revision]: spec.revision,
    [instanceLabels.digest]: spec.digest,
    ...(spec.templateDigest ? { [instanceLabels.template]: spec.templateDigest } : {}),
  };
}

/** What an instance is made from; the engine applies the hardening, the caller cannot turn it off. */
export interface InstanceSpec {
  service: string;
  /** The fleet revision the instance belongs to: its image's short digest, e.g. `3f2a9c1d`. */
  revision: string;
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
  /**
   * `shmBytes`: the size of the instance's /dev/shm (a noexec tmpfs); {@link defaultShmBytes} when
   * absent, far below the engine's own 64 MiB, since a workload that uses none gives an intruder none.
   */
  resources: { memoryBytes: number; nanoCpus: number; pids: number; shmBytes?: number };
  /** Seconds between SIGTERM and SIGKILL when the instance is removed. */
  stopGraceSeconds: number;
  /** Extra labels (the engine adds `instanceLabels`). */
  labels?: Record<string, string>;
  /**
   * Where an engine of many machines may place it (the spec's `fleet.placement`): constraints as
   * Swarm writes them, such as `node.labels.zone==east`. An engine on one host ignores it.
   */
  placement?: { constraints?: string[] };
}

/** 1 MiB: /dev/shm for an instance whose spec asks for no more (`fleet.resources.shm`). */
export const defaultShmBytes = 1024 * 1024;

export type InstanceState = 'created' | 'running' | 'exited' | 'removing' | 'unknown';

/** An instance as the engine sees it now. */
export interface Instance {
  /** Engine-assigned id; instances have no names. */
  id: string;
  service: string;
  /** The fleet revision (short digest) from its labels. */
  revision: string;
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
  /** The node it was placed on, for an engine of many machines (a Swarm node, a Kubernetes node). */
  node?: string;
}

/**
 * What the engine reports as it happens; the controller resyncs on a timer as well, events can be
 * lost. `cursor` is where the event sits in the engine's own record of events: `events` asked from
 * it again replays what came after (and maybe that event once more), so a monitor that keeps the
 * last cursor it handled misses nothing while it was down.
 */
export type EngineEvent = (
  | { kind: 'started'; id: string }
  | { kind: 'exited'; id: string; exitCode: number }
  | { kind: 'removed'; id: string }
  /**
   * Someone opened an exec session on an instance (engine events exec_create / exec_start). herd has
   * no exec in any API, so this is always an incident.
   */
  | { kind: 'exec'; id: string; command?: string }
) & { cursor?: string };

/** One path the engine says differs from the image (Docker's `GET /containers/{id}/changes`). */
export interface FilesystemChange {
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

/**
 * One entry at or under a path of a running instance, as `listPath` reports it: metadata only, no
 * content. Enough to tell a new or changed file from one already seen, and to judge by mode alone.
 */
export interface PathEntry {
  /** Absolute in the instance: `/tmp/cache/a`. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'socket' | 'unknown';
  /** Permission bits, with setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of a regular file's data; 0 for anything else. */
  size: number;
  /** Epoch milliseconds. */
  mtimeMs: number;
  /** The inode and its change time, when the listing knows them (a walk from the host does). */
  ino?: number;
  ctimeMs?: number;
  /** A symlink's target. */
  linkname?: string;
}

/** One line of an instance's output, as it happened. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Epoch milliseconds, from the engine's timestamps. */
  time: number;
  text: string;
}

/**
 * What an instance has used so far (`stats`): cumulative, so a caller that reads twice gets the
 * use between the two reads, over the engine's own clock.
 */
export interface InstanceStats {
  /** CPU time used since the instance started, in seconds, all its processes and CPUs together. */
  cpuSeconds: number;
  /** Epoch ms at which the engine read it. */
  at: number;
}

export interface EngineInfo {
  name: string;
  version: string;
  /**
   * Hardening herd asks for that this engine does not apply, as the engine found it (Swarm 20.10
   * runs services without `no-new-privileges`); absent when it applies all of it.
   */
  unapplied?: string[];
}

export interface Engine {
  info(): Promise<EngineInfo>;
  /** Makes the image available to the engine; a no-op when it has it already. */
  ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void>;
  /**
   * Removes the image from the engine's storage, layers and all, so that the next `ensureImage`
   * fetches it anew from herd's store: a copy changed on the host is gone for good. An engine may
   * keep a layer while any instance uses it and give it to the next fetch of the same digest, so the
   * caller removes the image's instances first (Podman removes any left with it). Removing an image
   * the engine does not have is not an error.
   */
  removeImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void>;
  /** Creates and starts a hardened instance; resolves once the engine says it is running. */
  create(spec: InstanceSpec): Promise<Instance>;
  /** Stops with the instance's grace period, then removes it. Removing an unknown id is not an error. */
  remove(id: string): Promise<void>;
  /** herd's instances (label `dev.herd.managed-by=herd`), optionally of one service. */
  list(filter?: { service?: string }): Promise<Instance[]>;
  /** The last lines of an instance's output, stdout and stderr interleaved. */
  logs(id: string, options?: { tail?: number }): Promise<string>;
  /**
   * Engine events until the signal aborts: from now, or from `since` (an event's `cursor`), replaying
   * what the engine recorded after it first.
   */
  events(signal: AbortSignal, options?: { since?: string }): AsyncIterable<EngineEvent>;
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
  /**
   * The processes running in the instance now, as the engine's top sees them from outside (no exec:
   * nothing runs in the instance to answer). `hash` adds each executable's sha256, for evidence.
   */
  processes(id: string, options?: { hash?: boolean }): Promise<InstanceProcess[]>;
  /**
   * Runs `command` in the instance as its own user, attached to the caller: the one exec herd has,
   * for `herd debug` only (src/debug/: admin role, journaled, recorded, the instance destroyed after).
   * Nothing else in herd calls it; the engine reports it as an exec like any other.
   */
  debugExec(id: string, options: DebugExecOptions): Promise<DebugExec>;
  /**
   * Optional: the entries at and under `path` of a running instance, metadata only, seen from inside
   * it, at a cost that does not grow with the files' sizes (DockerEngine walks the instance's root
   * from the host). Stops after `maxEntries` + 1 entries. Undefined when this engine cannot list
   * this path so (the engine on another host or in another pid namespace, a path that is not one
   * of the instance's mounts): the caller reads `readPath` instead. NOT_FOUND when nothing is at
   * `path`, or the instance is not running.
   */
  listPath?(
    id: string,
    path: string,
    options: { signal?: AbortSignal; maxEntries?: number },
  ): Promise<PathEntry[] | undefined>;
  /**
   * Optional: the CPU the instance has used so far (Docker's `GET /containers/{id}/stats`), what
   * the autoscaler's `cpu` metric is measured from. An engine without it leaves that metric
   * unmeasured. NOT_FOUND for an instance it does not have.
   */
  stats?(id: string): Promise<InstanceStats>;
}

/** One process of an instance (`GET /containers/{id}/top`). */
export interface InstanceProcess {
  /** In the instance's pid namespace: the init is 1. */
  pid: number;
  ppid: number;
  /** As the engine says it: a uid for herd's instances. */
  user: string;
  /**
   * The command line. The process may rewrite it (Node's `process.title` does), so it proves
   * nothing; and it may carry a password, so it goes into incident evidence only.
   */
  command: string;
  /**
   * The file the kernel runs (`/proc/<pid>/exe`), as a path inside the instance: the interpreter of
   * a script, `<path> (deleted)` once the file is gone. Absent when the engine could not tell.
   */
  executable?: string;
  /** Hex sha256 of the executable's bytes, when asked for and readable. */
  sha256?: string;
  /**
   * In the instance's pid namespace but not its filesystem (entered from the host with `nsenter`
   * without `-m`): `executable` then names a file outside the instance, whatever its path.
   */
  outside?: true;
}

export interface DebugExecOptions {
  /** Exec form; the program must exist in the instance. */
  command: string[];
  /** A terminal: stdout and stderr become one stream, and the program sees a TTY. */
  tty: boolean;
  size?: TerminalSize;
}

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** A debug program, attached. */
export interface DebugExec {
  /** What it writes, as it writes it; ends when it exits or the session is closed. */
  output: AsyncIterable<{ stream: 'stdout' | 'stderr'; data: Buffer }>;
  /** Sends to its stdin. */
  write(data: Buffer): void;
  /** Ends its stdin (EOF), as a pipe ending does. */
  endInput(): void;
  resize(size: TerminalSize): Promise<void>;
  /** Its exit code once `output` ended; undefined when the engine could not say (closed, killed). */
  exitCode(): Promise<number | undefined>;
  /** Cuts the session: the TTL passed, or the caller went away. */
  close(): void;
}

/**
 * NOT_INSTALLED: the engine's programs (podman, runc, catatonit) are missing on this machine.
 * UNSUPPORTED: this engine has no way to do what was asked (the message names the capability and
 * what would provide it), e.g. a filesystem diff on Kubernetes.
 * SETTINGS: herd's environment names an engine wrongly (HERD_KUBECONFIG, HERD_SWARM_MANAGER…).
 */
export type EngineErrorCode =
  | 'UNREACHABLE'
  | 'UNSUPPORTED'
  | 'NOT_INSTALLED'
  | 'IMAGE'
  | 'PORT_TAKEN'
  | 'CREATE'
  | 'NOT_FOUND'
  | 'SETTINGS'
  | 'OTHER';

/** Thrown for what the engine cannot do; the message names the engine and what was asked. */
export class EngineError extends HerdError<EngineErrorCode> {}
