/**
 * An in-process Engine for unit tests and simulations only: no processes, an injected clock and
 * deterministic ids, plus hooks that simulate what a real engine does to us (crashes, external
 * removal, images that will not start). It behaves like DockerEngine where the contract says so:
 * create needs the image first (ensureImage), refuses root, and reports started/exited/removed.
 */
import {
  type Engine,
  EngineError,
  type EngineEvent,
  type EngineInfo,
  type Instance,
  type InstanceSpec,
  instanceLabels,
} from '../engine.js';
import { EventFeed } from '../event-feed.js';

export interface MemoryEngineOptions {
  /** Epoch milliseconds; defaults to Date.now. */
  now?: () => number;
  /** First fake loopback port handed out to instances with a `port`. */
  firstPort?: number;
}

/** How a failing image fails: refused at create, or started and gone at once (exit code 1). */
export type ImageFailure = 'create' | 'exit';

interface Entry {
  instance: Instance;
  output: string[];
}

export class MemoryEngine implements Engine {
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly images = new Set<string>();
  private readonly failing = new Map<string, ImageFailure>();
  private readonly feed = new EventFeed<EngineEvent>();
  private nextId = 1;
  private nextPort: number;
  private peak = 0;

  constructor(options: MemoryEngineOptions = {}) {
    this.now = options.now ?? Date.now;
    this.nextPort = options.firstPort ?? 40000;
  }

  async info(): Promise<EngineInfo> {
    return { name: 'memory', version: '1' };
  }

  async ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    this.images.add(spec.digest);
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
    const id = `mem-${String(this.nextId++).padStart(6, '0')}`;
    const at = this.now();
    const instance: Instance = {
      id,
      service: spec.service,
      release: spec.release,
      digest: spec.digest,
      state: 'running',
      createdAt: at,
      startedAt: at,
      labels: {
        ...spec.labels,
        [instanceLabels.managedBy]: 'herd',
        [instanceLabels.service]: spec.service,
        [instanceLabels.release]: spec.release,
        [instanceLabels.digest]: spec.digest,
      },
    };
    if (spec.port !== undefined) instance.address = { host: '127.0.0.1', port: this.nextPort++ };
    this.entries.set(id, { instance, output: [`started ${spec.service} ${spec.digest}`] });
    this.feed.emit({ kind: 'started', id });
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
    return [...this.entries.values()]
      .map((entry) => snapshot(entry.instance))
      .filter((instance) => filter.service === undefined || instance.service === filter.service);
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const entry = this.entries.get(id);
    if (!entry) throw new EngineError('NOT_FOUND', `no instance ${id} on the memory engine`);
    const lines = options.tail === undefined ? entry.output : entry.output.slice(-options.tail);
    return lines.map((line) => `${line}\n`).join('');
  }

  events(signal: AbortSignal): AsyncIterable<EngineEvent> {
    return this.feed.subscribe(signal);
  }

  // --- fault injection, for tests and simulations ---

  /** The instance's process ends with `exitCode`; the instance stays, exited, until removed. */
  crash(id: string, exitCode: number): void {
    const entry = this.entries.get(id);
    if (entry?.instance.state !== 'running') return;
    entry.instance.state = 'exited';
    entry.instance.exitCode = exitCode;
    delete entry.instance.address;
    entry.output.push(`exited with code ${exitCode}`);
    this.feed.emit({ kind: 'exited', id, exitCode });
  }

  /** Someone outside herd removed the instance (`podman rm -f`): it is gone without a stop. */
  kill(id: string): void {
    if (!this.entries.delete(id)) return;
    this.feed.emit({ kind: 'removed', id });
  }

  /** Instances of `digest` fail from now on; `clear` makes them start again. */
  failImage(digest: string, how: ImageFailure = 'exit'): void {
    this.failing.set(digest, how);
  }

  clearImageFailure(digest: string): void {
    this.failing.delete(digest);
  }

  /** Appends a line to an instance's output, as if the process had printed it. */
  print(id: string, line: string): void {
    this.entries.get(id)?.output.push(line);
  }

  /** Instances running now. */
  get running(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.instance.state === 'running') count++;
    return count;
  }

  /** The most instances that were running at once since construction or `resetPeak()`. */
  get peakRunning(): number {
    return this.peak;
  }

  resetPeak(): void {
    this.peak = this.running;
  }

  private trackPeak(): void {
    this.peak = Math.max(this.peak, this.running);
  }
}

/** A copy the caller may keep or change without touching the engine's own record. */
function snapshot(instance: Instance): Instance {
  const copy: Instance = { ...instance, labels: { ...instance.labels } };
  if (instance.address) copy.address = { ...instance.address };
  return copy;
}
