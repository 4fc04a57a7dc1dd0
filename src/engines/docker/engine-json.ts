/**
 * What the engine answers, turned into herd's types: container inspect and list entries into
 * Instances, event records into EngineEvents, multiplexed log frames into text. Engine JSON is an
 * untrusted edge: only the fields used are read, and a container without valid herd labels is
 * not an instance.
 * API: https://docs.docker.com/engine/api/v1.41/ (ContainerInspect, ContainerList, SystemEvents,
 * ContainerAttach for the stream format).
 */
import { isDigest } from '../../oci/index.js';
import {
  EngineError,
  type EngineEvent,
  type FilesystemChange,
  type Instance,
  type InstanceState,
  instanceLabels,
  type LogLine,
  revisionFromLabels,
} from '../engine.js';

type Labels = Record<string, string>;

/** The fields of `GET /containers/{id}/json` herd reads. */
export interface ContainerInspect {
  Id: string;
  Created: string;
  /** `Pid`: the instance's first process on the engine's host (0 when it is not running). */
  State: { Status: string; ExitCode: number; StartedAt: string; Pid?: number };
  Config: { Labels?: Labels | null; StopTimeout?: number };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

/** The fields of one `GET /containers/json` entry herd reads. */
export interface ContainerListEntry {
  Id: string;
  Created: number;
  State: string;
  Status: string;
  Labels?: Labels | null;
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] | null;
}

/** Docker says `destroy`, Podman's compat API says `remove`; both are said here. */
export interface EngineEventRecord {
  Type?: string;
  Action?: string;
  status?: string;
  Actor?: { ID?: string; Attributes?: Labels };
  /** Seconds since the epoch. */
  time?: number;
  /** Nanoseconds since the epoch; JSON.parse keeps it to within a few hundred nanoseconds. */
  timeNano?: number;
}

/**
 * Where the event sits in the engine's record, as the `since` the events API takes: seconds with a
 * microsecond fraction, rounded down, so that asking from it again replays the event at most once
 * more and never skips one after it.
 */
export function eventCursorOf(record: EngineEventRecord): string | undefined {
  if (typeof record.timeNano === 'number' && Number.isFinite(record.timeNano) && record.timeNano > 0) {
    const micros = Math.floor(record.timeNano / 1000);
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }
  if (typeof record.time === 'number' && Number.isInteger(record.time) && record.time > 0)
    return String(record.time);
  return undefined;
}

export function instanceFromInspect(container: ContainerInspect): Instance | undefined {
  const state = stateOf(container.State.Status);
  const ports = Object.values(container.NetworkSettings?.Ports ?? {}).flatMap((bindings) => bindings ?? []);
  const bound = ports.find((binding) => binding.HostPort !== '');
  const startedAt = Date.parse(container.State.StartedAt);
  return withLabels(container.Id, container.Config.Labels, {
    state,
    ...(state === 'exited' ? { exitCode: container.State.ExitCode } : {}),
    ...(state === 'running' && bound ? { address: { host: '127.0.0.1', port: Number(bound.HostPort) } } : {}),
    createdAt: Date.parse(container.Created),
    // Go's zero time (0001-01-01) means never started.
    ...(startedAt > 0 ? { startedAt } : {}),
  });
}

/** A list entry has no StartedAt, and its exit code only in the Status text (`Exited (1) …`). */
export function instanceFromListEntry(entry: ContainerListEntry): Instance | undefined {
  const state = stateOf(entry.State);
  const published = (entry.Ports ?? []).find((port) => port.PublicPort !== undefined && port.PublicPort > 0);
  const exitCode = /^Exited \((-?\d+)\)/.exec(entry.Status)?.[1];
  return withLabels(entry.Id, entry.Labels, {
    state,
    ...(state === 'exited' && exitCode !== undefined ? { exitCode: Number(exitCode) } : {}),
    ...(state === 'running' && published?.PublicPort
      ? { address: { host: '127.0.0.1', port: published.PublicPort } }
      : {}),
    createdAt: entry.Created * 1000,
  });
}

export function engineEventFrom(record: EngineEventRecord): EngineEvent | undefined {
  const event = eventOf(record);
  const cursor = eventCursorOf(record);
  return event && cursor ? { ...event, cursor } : event;
}

function eventOf(record: EngineEventRecord): EngineEvent | undefined {
  const id = record.Actor?.ID;
  const attributes = record.Actor?.Attributes ?? {};
  if ((record.Type ?? 'container') !== 'container' || !id) return undefined;
  if (attributes[instanceLabels.managedBy] !== 'herd') return undefined;
  const action = record.Action ?? record.status ?? '';
  // Docker appends the command to exec actions (`exec_create: sh -c id`); Podman 4.3 says only
  // `exec` when a session starts, then `exec_died` (twice) when it ends.
  const [verb = '', ...rest] = action.split(': ');
  if (verb === 'exec' || verb === 'exec_create' || verb === 'exec_start') {
    const command = rest.join(': ').trim();
    return command === '' ? { kind: 'exec', id } : { kind: 'exec', id, command };
  }
  switch (action) {
    case 'start':
      return { kind: 'started', id };
    case 'die':
      return { kind: 'exited', id, exitCode: Number(attributes.exitCode ?? -1) };
    case 'destroy':
    case 'remove':
      return { kind: 'removed', id };
    default:
      return undefined;
  }
}

/**
 * A log stream without a TTY is framed: 1 byte stream (1 stdout, 2 stderr), 3 zero bytes, a
 * 4-byte big-endian length, then the payload. Frames arrive in the order written, so joining
 * their payloads interleaves stdout and stderr as the process wrote them.
 */
export function demultiplexLogs(stream: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= stream.length) {
    const kind = stream[offset];
    if (kind !== 0 && kind !== 1 && kind !== 2) return stream.toString('utf8'); // not framed: a TTY stream
    const length = stream.readUInt32BE(offset + 4);
    parts.push(stream.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** One entry of `GET /containers/{id}/changes`: Kind 0 modified, 1 added, 2 deleted. */
export interface ContainerChange {
  Path: string;
  Kind: number;
}

/**
 * What herd asks top for: Podman's own descriptors (psgo), read from /proc without running anything
 * in the instance. Anything else (`-ef`) makes Podman run ps inside the instance, which an image
 * without ps cannot, and which would be an exec of its own. HPID is the pid on the host.
 */
export const topDescriptors = 'hpid,pid,ppid,user,args';

/** `GET /containers/{id}/top`: titles, and one row of strings per process. */
export interface ContainerTop {
  Titles?: unknown;
  Processes?: unknown;
}

/** One row of top, read: `hostPid` absent when the engine could not say (Podman prints `?`). */
export interface TopProcess {
  hostPid?: number;
  pid: number;
  ppid: number;
  user: string;
  command: string;
}

/**
 * Top's answer for {@link topDescriptors}. An answer in another shape is an error, never an empty
 * list: a monitor that reads "no processes" would see nothing wrong with anything.
 */
export function topProcessesFrom(body: ContainerTop, where: string): TopProcess[] {
  const titles = Array.isArray(body?.Titles) ? body.Titles.map(String) : [];
  const expected = ['HPID', 'PID', 'PPID', 'USER', 'COMMAND'];
  if (titles.join(',') !== expected.join(',') || !Array.isArray(body.Processes)) {
    throw new EngineError(
      'OTHER',
      `top of ${where} answered columns ${JSON.stringify(titles)}, expected ${JSON.stringify(expected)}: process sampling needs Podman's top (psgo descriptors)`,
    );
  }
  return body.Processes.map((row: unknown, index) => {
    const cells = Array.isArray(row) ? row.map(String) : [];
    const [hostPid = '', pid = '', ppid = '', user = '', ...command] = cells;
    const whole = (text: string) => (/^\d{1,10}$/.test(text) ? Number(text) : undefined);
    const [p, pp] = [whole(pid), whole(ppid)];
    if (cells.length < 5 || p === undefined || pp === undefined) {
      throw new EngineError(
        'OTHER',
        `top of ${where} row ${index} is ${JSON.stringify(cells).slice(0, 200)}: expected a host pid or ?, a pid, a parent pid, a user and a command`,
      );
    }
    const host = whole(hostPid);
    return {
      ...(host !== undefined && host > 0 ? { hostPid: host } : {}),
      pid: p,
      ppid: pp,
      user,
      command: command.join(' '),
    };
  });
}

/**
 * An exec's output without a TTY, framed as logs are (see demultiplexLogs), read as it arrives:
 * frames do not align with chunks. Frame type 0 is stdin echoed back, which herd never asks for.
 */
export class ExecFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { stream: 'stdout' | 'stderr'; data: Buffer }[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: { stream: 'stdout' | 'stderr'; data: Buffer }[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + length) break;
      const kind = this.pending[0];
      const data = Buffer.from(this.pending.subarray(8, 8 + length));
      if (kind === 1 || kind === 2) frames.push({ stream: kind === 2 ? 'stderr' : 'stdout', data });
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}

/** Docker answers `null` when nothing changed; Podman answers `[]`. */
export function filesystemChangesFrom(body: ContainerChange[] | null | undefined): FilesystemChange[] {
  const kinds = ['modified', 'added', 'deleted'] as const;
  return (body ?? []).flatMap((change) => {
    const kind = kinds[change.Kind];
    return typeof change.Path === 'string' && kind ? [{ path: change.Path, kind }] : [];
  });
}

/**
 * The framed log stream (see demultiplexLogs) read as it arrives: frames and lines do not align
 * with chunks, so partial frames and partial lines are kept until the rest comes. Each line starts
 * with the engine's RFC 3339 timestamp (`timestamps: true`) and a space.
 */
export class LogStreamReader {
  private pending: Buffer = Buffer.alloc(0);
  private framed: boolean | undefined;
  private readonly partial = { stdout: '', stderr: '' };

  /** The complete lines in `chunk` and what came before it. */
  push(chunk: Buffer): LogLine[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: LogLine[] = [];
    for (;;) {
      if (this.framed === undefined) {
        if (this.pending.length === 0) break;
        const kind = this.pending[0];
        this.framed = kind === 0 || kind === 1 || kind === 2;
      }
      if (!this.framed) {
        lines.push(...this.text('stdout', this.pending.toString('utf8')));
        this.pending = Buffer.alloc(0);
        break;
      }
      if (this.pending.length < 8) break;
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + length) break;
      const stream = this.pending[0] === 2 ? 'stderr' : 'stdout';
      lines.push(...this.text(stream, this.pending.subarray(8, 8 + length).toString('utf8')));
      this.pending = this.pending.subarray(8 + length);
    }
    return lines;
  }

  /** What is left once the stream ended: a last line without a newline still counts. */
  end(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') lines.push(logLineFrom(stream, this.partial[stream]));
      this.partial[stream] = '';
    }
    return lines;
  }

  private text(stream: 'stdout' | 'stderr', text: string): LogLine[] {
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    return parts.map((line) => logLineFrom(stream, line));
  }
}

/** `2024-05-01T10:00:00.123456789Z text`; a line without a readable timestamp keeps all its text, time 0. */
export function logLineFrom(stream: 'stdout' | 'stderr', line: string): LogLine {
  const space = line.indexOf(' ');
  const stamp = space > 0 ? line.slice(0, space) : line;
  const time = /^\d{4}-\d{2}-\d{2}T/.test(stamp) ? Date.parse(stamp) : Number.NaN;
  if (Number.isNaN(time)) return { stream, time: 0, text: line.replace(/\r$/, '') };
  return { stream, time, text: (space > 0 ? line.slice(space + 1) : '').replace(/\r$/, '') };
}

function stateOf(status: string): InstanceState {
  switch (status) {
    case 'running':
      return 'running';
    case 'created':
    case 'configured': // Podman's word for created, before init
    case 'initialized':
      return 'created';
    case 'exited':
    case 'stopped':
    case 'dead':
      return 'exited';
    case 'removing':
      return 'removing';
    default:
      return 'unknown';
  }
}

function withLabels(
  id: string,
  labels: Labels | null | undefined,
  observed: Omit<Instance, 'id' | 'service' | 'revision' | 'digest' | 'labels'>,
): Instance | undefined {
  const all = labels ?? {};
  const service = all[instanceLabels.service];
  const revision = revisionFromLabels(all);
  const digest = all[instanceLabels.digest];
  if (all[instanceLabels.managedBy] !== 'herd' || !service || !revision || !digest || !isDigest(digest)) {
    return undefined;
  }
  return { id, service, revision, digest, labels: { ...all }, ...observed };
}
