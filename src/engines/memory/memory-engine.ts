/**
 * An in-process Engine for unit tests and simulations only: no processes, an injected clock and
 * deterministic ids, plus hooks that simulate what a real engine does to us (crashes, external
 * removal, images that will not start). It behaves like DockerEngine where the contract says so:
 * create needs the image first (ensureImage), refuses root, and reports started/exited/removed.
 * Given nodes, it is an engine of many machines: each instance is spread onto a node
 * (node-placement.ts), gets an address on it, and a node can fail with everything on it.
 */
import { Readable } from 'node:stream';
import { type TarEntry, writeTar } from '../../oci/index.js';
import {
  type DebugExec,
  type DebugExecOptions,
  type Engine,
  EngineError,
  type EngineEvent,
  type EngineInfo,
  type FilesystemChange,
  type Instance,
  type InstanceProcess,
  type InstanceSpec,
  type InstanceStats,
  type LogLine,
  labelsFor,
  type PathEntry,
} from '../engine.js';
import { EventFeed } from '../event-feed.js';
import { MemoryCpu } from './memory-cpu.js';
import { MemoryProcessTable } from './memory-processes.js';
import { type NodeConstraint, NodePlacement, type NodeSpec, parseConstraint } from './node-placement.js';

export interface MemoryEngineOptions {
  /** Epoch milliseconds; defaults to Date.now. */
  now?: () => number;
  /** First fake loopback port handed out to instances with a `port` (on each node, with nodes). */
  firstPort?: number;
  /**
   * The machines instances are spread over: a count (`node-0001`…) or each node with its labels.
   * Without it there are none: one machine, instances without a `node`, addresses on 127.0.0.1.
   */
  nodes?: number | readonly NodeSpec[];
  /**
   * Breaks ties between equally good nodes at random, as kube-scheduler does (a seeded source in
   * a simulation, so a run replays); without it, in a fixed order (what a test can predict).
   */
  placementRandom?: () => number;
  /**
   * More constraints on where a spec may run, beside its own `placement.constraints` (which the
   * engine honours when it has nodes), for a simulation that places by something else.
   */
  constraintsFor?: (spec: InstanceSpec) => readonly NodeConstraint[];
}

/** How a failing image fails: refused at create, or started and gone at once (exit code 1). */
export type ImageFailure = 'create' | 'exit';

interface Entry {
  instance: Instance;
  output: LogLine[];
  /** What `changes` reports, in the order planted. */
  changes: FilesystemChange[];
  /** The instance's filesystem as `exportFilesystem` streams it: the image's files, then planted ones by path. */
  files: Map<string, TarEntry>;
}

export class MemoryEngine implements Engine {
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  /** Ids by service, in creation order (as `entries`), so `list({ service })` reads only its own. */
  private readonly byService = new Map<string, Set<string>>();
  private readonly images = new Set<string>();
  private readonly failing = new Map<string, ImageFailure>();
  private readonly feed = new EventFeed<EngineEvent>();
  /** Wakes `followLogs` readers when output is printed or an instance ends. */
  private readonly outputFeed = new EventFeed<string>();
  private readonly imageFiles = new Map<string, TarEntry[]>();
  /** Files changed in the engine's copy of an image (`tamperImage`), by digest and path; gone with the copy. */
  private readonly tampered = new Map<string, Map<string, TarEntry>>();
  /** Every event emitted, for `events(signal, { since })`; the cursor is the 1-based position. */
  private readonly eventLog: EngineEvent[] = [];
  /** How often each digest was fetched into the engine (ensureImage without a copy). */
  private readonly fetches = new Map<string, number>();
  /** Per instance and path: the inode and change time `listPath` reports, new with each planting. */
  private readonly inodes = new Map<string, Map<string, { ino: number; ctimeMs: number }>>();
  private nextIno = 1;
  private readonly processTable = new MemoryProcessTable();
  private readonly cpu: MemoryCpu;
  private nextId = 1;
  private nextPort: number;
  private peak = 0;
  /** Instances in state `running`, kept by every change of state. */
  private runningNow = 0;
  private readonly placement: NodePlacement | undefined;
  /** Each node's fake address and the next port it hands out: 100,000 instances do not fit one host's ports. */
  private readonly nodeAddresses = new Map<string, { host: string; nextPort: number }>();
  private readonly constraintsFor: ((spec: InstanceSpec) => readonly NodeConstraint[]) | undefined;

  constructor(options: MemoryEngineOptions = {}) {
    this.now = options.now ?? Date.now;
    this.cpu = new MemoryCpu(this.now);
    this.nextPort = options.firstPort ?? 40000;
    this.constraintsFor = options.constraintsFor;
    if (options.nodes !== undefined) {
      const nodes =
        typeof options.nodes === 'number'
          ? Array.from({ length: options.nodes }, (_, index) => ({ name: nodeName(index) }))
          : options.nodes;
      this.placement = new NodePlacement(
        nodes,
        options.placementRandom ? { random: options.placementRandom } : {},
      );
      for (const [index, node] of nodes.entries())
        this.nodeAddresses.set(node.name, { host: nodeHost(index), nextPort: this.nextPort });
    }
  }

  async info(): Promise<EngineInfo> {
    return { name: 'memory', version: '1' };
  }

  async ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    if (this.images.has(spec.digest)) return;
    this.images.add(spec.digest);
    this.fetches.set(spec.digest, (this.fetches.get(spec.digest) ?? 0) + 1);
  }

  /** Like Podman's forced removal: the copy goes, with its changes, and so does any instance of it. */
  async removeImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    for (const entry of [...this.entries.values()]) {
      if (entry.instance.digest === spec.digest) this.kill(entry.instance.id);
    }
    this.images.delete(spec.digest);
    this.tampered.delete(spec.digest);
  }

  async create(spec: InstanceSpec): Promise<Instance> {
    if (spec.user.uid === 0) {
      throw new EngineError(
        'CREATE',
        `refusing to create an instance of ${spec.service} as uid 0: expected a non-root user`,
      );
    }
    if (!this.images.has(spec.digest)) {
      throw new EngineError(
        'IMAGE',
        `image ${spec.digest} is not on the memory engine: expected ensureImage first`,
      );
    }
    const failure = this.failing.get(spec.digest);
    if (failure === 'create') {
      throw new EngineError(
        'CREATE',
        `memory engine failed to create ${spec.service} from ${spec.digest} (simulated)`,
      );
    }
    const node = this.placement ? this.placeOnNode(this.placement, spec) : undefined;
    const id = `mem-${String(this.nextId++).padStart(6, '0')}`;
    const at = this.now();
    const instance: Instance = {
      id,
      service: spec.service,
      revision: spec.revision,
      digest: spec.digest,
      state: 'running',
      createdAt: at,
      startedAt: at,
      labels: labelsFor(spec),
    };
    if (node !== undefined) instance.node = node;
    if (spec.port !== undefined) instance.address = this.addressOn(node);
    const files = new Map((this.imageFiles.get(spec.digest) ?? []).map((file) => [file.path, file]));
    for (const [path, file] of this.tampered.get(spec.digest) ?? []) files.set(path, file);
    this.entries.set(id, { instance, output: [], changes: [], files });
    let ofService = this.byService.get(spec.service);
    if (!ofService) {
      ofService = new Set();
      this.byService.set(spec.service, ofService);
    }
    ofService.add(id);
    this.processTable.started(id, spec.digest, String(spec.user.uid));
    this.cpu.started(id, spec.resources.nanoCpus);
    this.print(id, `started ${spec.service} ${spec.digest}`);
    this.emit({ kind: 'started', id });
    this.trackPeak();
    if (failure === 'exit') this.crash(id, 1);
    return snapshot(instance);
  }

  async remove(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    // A graceful stop: the process sees SIGTERM and exits 0, as the probe server does.
    if (entry.instance.state === 'running') this.crash(id, 0);
    this.kill(id);
  }

  async list(filter: { service?: string } = {}): Promise<Instance[]> {
    // By the service's own ids: bench/controller lists 100 fleets of 10,000 instances each pass.
    const ids =
      filter.service === undefined ? this.entries.keys() : (this.byService.get(filter.service) ?? []);
    const listed: Instance[] = [];
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (entry) listed.push(snapshot(entry.instance));
    }
    return listed;
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    const lines = options.tail === undefined ? entry.output : entry.output.slice(-options.tail);
    return lines.map((line) => `${line.text}\n`).join('');
  }

  /** From now, or what was emitted after the `since` cursor first (as a file-backed engine log). */
  events(signal: AbortSignal, options: { since?: string } = {}): AsyncIterable<EngineEvent> {
    const live = this.feed.subscribe(signal);
    if (options.since === undefined) return live;
    const after = Number(options.since);
    if (!Number.isInteger(after) || after < 0) {
      throw new EngineError('OTHER', `event cursor ${JSON.stringify(options.since)}: expected a position`);
    }
    // Subscribed before the replay is taken, so nothing falls between the two.
    const replay = this.eventLog.slice(after);
    return {
      async *[Symbol.asyncIterator]() {
        for (const event of replay) {
          if (signal.aborted) return;
          yield { ...event };
        }
        yield* live;
      },
    };
  }

  /** Like the docker engine's follow: what was printed, then what comes, until the process ends. */
  async *followLogs(id: string, options: { since?: number; signal: AbortSignal }): AsyncIterable<LogLine> {
    const { since, signal } = options;
    if (!this.entries.has(id)) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    const abort = new AbortController();
    const stop = () => abort.abort();
    signal.addEventListener('abort', stop, { once: true });
    // Subscribed before reading, so a line printed between the read and the wait still wakes us.
    const wakes = this.outputFeed.subscribe(abort.signal)[Symbol.asyncIterator]();
    let next = 0;
    try {
      for (;;) {
        const entry = this.entries.get(id);
        const output = entry?.output ?? [];
        while (next < output.length && !signal.aborted) {
          const line = output[next++] as LogLine;
          if (since === undefined || line.time >= since) yield { ...line };
        }
        if (signal.aborted || entry === undefined || entry.instance.state !== 'running') return;
        await wakes.next();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      abort.abort();
    }
  }

  async changes(id: string): Promise<FilesystemChange[]> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    return entry.changes.map((change) => ({ ...change }));
  }

  async exportFilesystem(id: string, options: { signal?: AbortSignal } = {}): Promise<NodeJS.ReadableStream> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    const tar = this.exportOverride?.(id) ?? writeTar([...entry.files.values()]);
    return Readable.from([tar], { signal: options.signal });
  }

  // --- fault injection, for tests and simulations ---

  /**
   * Someone changed a file of the engine's copy of an image on the host (its layer storage): every
   * instance of it sees the change at once, the engine's diff of none of them shows it, and every
   * instance made from the copy has it too, until `removeImage` drops the copy.
   */
  tamperImage(digest: string, file: TarEntry): void {
    const path = file.path.replace(/^\/+/, '');
    const changed = { ...file, path };
    const files = this.tampered.get(digest) ?? new Map<string, TarEntry>();
    files.set(path, changed);
    this.tampered.set(digest, files);
    for (const entry of this.entries.values()) {
      if (entry.instance.digest === digest) entry.files.set(path, changed);
    }
  }

  /** How many times `digest` was fetched into the engine: once, plus once after each `removeImage`. */
  fetchesOf(digest: string): number {
    return this.fetches.get(digest) ?? 0;
  }

  /** The engine's images, by digest. */
  hasImage(digest: string): boolean {
    return this.images.has(digest);
  }

  /**
   * The engine made the instance but never started it, as when the control plane that created it
   * was killed between Docker's create and start: it stays `created`, with no process or address.
   */
  leaveUnstarted(id: string): void {
    const entry = this.entries.get(id);
    if (entry?.instance.state !== 'running') return;
    this.runningNow--;
    entry.instance.state = 'created';
    delete entry.instance.startedAt;
    delete entry.instance.address;
  }

  /** The instance's process ends with `exitCode`; the instance stays, exited, until removed. */
  crash(id: string, exitCode: number): void {
    const entry = this.entries.get(id);
    if (entry?.instance.state !== 'running') return;
    this.runningNow--;
    this.releaseNode(entry.instance);
    entry.instance.state = 'exited';
    entry.instance.exitCode = exitCode;
    delete entry.instance.address;
    this.cpu.stopped(id);
    this.print(id, `exited with code ${exitCode}`);
    this.emit({ kind: 'exited', id, exitCode });
  }

  /** Someone outside herd removed the instance (`podman rm -f`): it is gone without a stop. */
  kill(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (entry.instance.state === 'running') this.runningNow--;
    if (entry.instance.state !== 'exited') this.releaseNode(entry.instance);
    this.entries.delete(id);
    this.byService.get(entry.instance.service)?.delete(id);
    this.inodes.delete(id);
    this.processTable.gone(id);
    this.cpu.gone(id);
    this.outputFeed.emit(id);
    this.emit({ kind: 'removed', id });
  }

  /**
   * The node is lost (its machine died, or left the cluster): every instance on it is gone, as
   * removed behind herd's back, and nothing is placed on it until `restoreNode`. Returns the ids gone.
   */
  failNode(node: string): string[] {
    const placement = this.nodePlacement();
    if (!placement.has(node)) throw new EngineError('NOT_FOUND', `no node ${node} on the memory engine`);
    const gone = [...this.entries.values()]
      .filter((entry) => entry.instance.node === node)
      .map((entry) => entry.instance.id);
    for (const id of gone) this.kill(id);
    placement.down(node);
    return gone;
  }

  /** The node is back, empty: new instances may be placed on it again. */
  restoreNode(node: string): void {
    this.nodePlacement().up(node);
  }

  /** Each node in the order given: whether it is up and how many live (not exited) instances it holds. */
  nodes(): { name: string; up: boolean; instances: number }[] {
    return this.placement?.snapshot() ?? [];
  }

  /** Instances of `digest` fail from now on; `clear` makes them start again. */
  failImage(digest: string, how: ImageFailure = 'exit'): void {
    this.failing.set(digest, how);
  }

  clearImageFailure(digest: string): void {
    this.failing.delete(digest);
  }

  /** The instance's CPU time so far: the integral of the load `setCpuLoad` set, over the engine's clock. */
  async stats(id: string): Promise<InstanceStats> {
    const cpuSeconds = this.cpu.used(id);
    if (cpuSeconds === undefined)
      throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    return { cpuSeconds, at: this.now() };
  }

  /** The instance burns `cpus` CPUs from now on (capped at its limit), as a loaded process would. */
  setCpuLoad(id: string, cpus: number): void {
    this.cpu.setLoad(id, cpus);
  }

  /** Appends a line to an instance's output, as if the process had printed it. */
  print(id: string, line: string, stream: LogLine['stream'] = 'stdout'): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.output.push({ stream, time: this.now(), text: line });
    this.outputFeed.emit(id);
  }

  /** The files at and under `path`, as a tar with paths relative to its parent, like Docker's archive. */
  async readPath(
    id: string,
    path: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<NodeJS.ReadableStream> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    const root = path.replace(/^\/+|\/+$/g, '');
    const parent = root.includes('/') ? root.slice(0, root.lastIndexOf('/') + 1) : '';
    const files = [...entry.files.values()]
      .filter((file) => file.path === root || file.path.startsWith(`${root}/`))
      .map((file) => ({ ...file, path: file.path.slice(parent.length) }));
    if (files.length === 0)
      throw new EngineError('NOT_FOUND', `no ${path} in instance ${id} on the memory engine`);
    // In chunks, as a socket delivers them: a reader that stops early has not been handed the rest.
    return Readable.from(chunksOf(writeTar(files), 64 * 1024), { signal: options.signal });
  }

  /** The entries at and under `path`, from what was planted: never the archive's bytes. */
  async listPath(
    id: string,
    path: string,
    options: { signal?: AbortSignal; maxEntries?: number } = {},
  ): Promise<PathEntry[]> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    const root = path.replace(/^\/+|\/+$/g, '');
    const listed = [...entry.files.values()]
      .filter((file) => file.path === root || file.path.startsWith(`${root}/`))
      .slice(0, (options.maxEntries ?? Number.POSITIVE_INFINITY) + 1)
      .map((file): PathEntry => {
        const inode = this.inodeOf(id, file.path);
        return {
          path: `/${file.path}`,
          type: file.type,
          mode: file.mode,
          uid: file.uid,
          gid: file.gid,
          size: file.type === 'file' ? file.size : 0,
          mtimeMs: file.mtime * 1000,
          ino: inode.ino,
          ctimeMs: inode.ctimeMs,
          ...(file.linkname !== undefined ? { linkname: file.linkname } : {}),
        };
      });
    if (listed.length === 0)
      throw new EngineError('NOT_FOUND', `no ${path} in instance ${id} on the memory engine`);
    return listed;
  }

  /**
   * A file appears in the instance without the engine's diff seeing it, as on a tmpfs: only
   * `readPath` (and not `changes` or the export's image files, by design here) shows it.
   */
  plantFile(id: string, file: TarEntry): void {
    const path = file.path.replace(/^\/+/, '');
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.files.set(path, { ...file, path });
    // Written anew: a new inode, as `podman cp` makes.
    this.inodes.get(id)?.delete(path);
  }

  /** Instances of `digest` start with these files (what `exportFilesystem` streams). */
  setImageFiles(digest: string, files: TarEntry[]): void {
    this.imageFiles.set(digest, files);
  }

  /**
   * Someone changed a running instance: `changes` reports `change`, and `file`, when given, is
   * what the export then holds at that path (absent for a deletion: the path leaves the export).
   */
  plantChange(id: string, change: FilesystemChange, file?: Omit<TarEntry, 'path'>): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.changes.push({ ...change });
    const path = change.path.replace(/^\/+/, '');
    if (change.kind === 'deleted') entry.files.delete(path);
    else if (file) entry.files.set(path, { ...file, path });
    this.inodes.get(id)?.delete(path);
  }

  /** Someone opened an exec session on the instance (`podman exec`). */
  simulateExec(id: string, command?: string): void {
    if (!this.entries.has(id)) return;
    this.emit(command === undefined ? { kind: 'exec', id } : { kind: 'exec', id, command });
  }

  async processes(id: string, options: { hash?: boolean } = {}): Promise<InstanceProcess[]> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    if (entry.instance.state !== 'running')
      throw new EngineError('OTHER', `instance ${id} is ${entry.instance.state}, expected running`);
    return this.processTable.list(id, options);
  }

  /** Reported as an exec, as a real engine does; the program echoes as `probe-server echo`. */
  async debugExec(id: string, options: DebugExecOptions): Promise<DebugExec> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    // As the instance's own user, the one its init runs as.
    const user = this.processTable.list(id)[0]?.user ?? '65532';
    const session = this.processTable.debugExec(id, { ...options, user });
    this.emit({ kind: 'exec', id });
    return session;
  }

  /** Instances of `digest` run `command` (exec form) under the init, as `processes` shows them. */
  setImageCommand(digest: string, command: string[]): void {
    this.processTable.setImageCommand(digest, command);
  }

  /** A process appears in a running instance (an nsenter, or one the app started); returns its pid. */
  plantProcess(id: string, process: Omit<InstanceProcess, 'pid' | 'ppid'> & { ppid?: number }): number {
    return this.processTable.plant(id, process);
  }

  endProcess(id: string, pid: number): void {
    this.processTable.end(id, pid);
  }

  /** Replaces every export's bytes, e.g. to simulate a forged or truncated stream; undefined restores. */
  exportOverride: ((id: string) => Buffer) | undefined;

  /** Instances running now. */
  get running(): number {
    return this.runningNow;
  }

  /** The most instances that were running at once since construction or `resetPeak()`. */
  get peakRunning(): number {
    return this.peak;
  }

  resetPeak(): void {
    this.peak = this.running;
  }

  private placeOnNode(placement: NodePlacement, spec: InstanceSpec): string {
    const constraints = [
      ...(spec.placement?.constraints ?? []).map((text) => parseConstraint(text, spec.service)),
      ...(this.constraintsFor?.(spec) ?? []),
    ];
    const node = placement.place(spec.service, constraints);
    if (node !== undefined) return node;
    const wanted = constraints.map((one) => `${one.key}${one.op}${one.value}`).join(', ');
    throw new EngineError(
      'CREATE',
      constraints.length === 0
        ? `no node up to place an instance of ${spec.service} on: expected at least one`
        : `no node up matches the constraints of ${spec.service} (${wanted}): expected at least one`,
    );
  }

  private addressOn(node: string | undefined): { host: string; port: number } {
    const onNode = node === undefined ? undefined : this.nodeAddresses.get(node);
    if (!onNode) return { host: '127.0.0.1', port: this.nextPort++ };
    return { host: onNode.host, port: onNode.nextPort++ };
  }

  private releaseNode(instance: Instance): void {
    if (instance.node !== undefined) this.placement?.release(instance.service, instance.node);
  }

  private nodePlacement(): NodePlacement {
    if (!this.placement)
      throw new EngineError('OTHER', 'the memory engine has no nodes: expected options.nodes');
    return this.placement;
  }

  private emit(event: EngineEvent): void {
    const recorded = { ...event, cursor: String(this.eventLog.length + 1) };
    this.eventLog.push(recorded);
    this.feed.emit({ ...recorded });
  }

  private inodeOf(id: string, path: string): { ino: number; ctimeMs: number } {
    let paths = this.inodes.get(id);
    if (!paths) {
      paths = new Map();
      this.inodes.set(id, paths);
    }
    let inode = paths.get(path);
    if (!inode) {
      inode = { ino: this.nextIno++, ctimeMs: this.now() };
      paths.set(path, inode);
    }
    return inode;
  }

  /** Once per create: counted as it happens, not by a walk over every instance (10,000 in bench/controller). */
  private trackPeak(): void {
    this.runningNow++;
    this.peak = Math.max(this.peak, this.runningNow);
  }
}

/** `node-0001`, … : sorted as they were made. */
function nodeName(index: number): string {
  return `node-${String(index + 1).padStart(4, '0')}`;
}

/** A made-up private address per node (10.x.y.z), so each node has its own ports. */
function nodeHost(index: number): string {
  const n = index + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function* chunksOf(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** A copy the caller may keep or change without touching the engine's own record. */
function snapshot(instance: Instance): Instance {
  const copy: Instance = { ...instance, labels: { ...instance.labels } };
  if (instance.address) copy.address = { ...instance.address };
  return copy;
}
