/**
 * The Engine over the Docker Engine API, through dockerode, against a unix socket: Docker, or
 * Podman's `podman system service` (src/engines/README.md). Every create is
 * hardened by hardened-config.ts; there is deliberately no exec, attach-stdin, copy or commit.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import type {
  DebugExec,
  DebugExecOptions,
  Engine,
  EngineEvent,
  EngineInfo,
  FilesystemChange,
  Instance,
  InstanceProcess,
  InstanceSpec,
  InstanceStats,
  LogLine,
  PathEntry,
} from '../engine.js';
import { EngineError, instanceLabels } from '../engine.js';
import { EventFeed } from '../event-feed.js';
import {
  eventsSince,
  followContainerEvents,
  forEachJsonLine,
  herdOnly,
  type JsonRecord,
} from './container-events.js';
import { type ContainerStats, instanceStatsFrom } from './container-stats.js';
import { startDebugExec } from './debug-exec.js';
import { statusOf, toEngineError, unreachable } from './engine-errors.js';
import {
  type ContainerChange,
  type ContainerInspect,
  type ContainerListEntry,
  type ContainerTop,
  demultiplexLogs,
  engineEventFrom,
  filesystemChangesFrom,
  instanceFromInspect,
  instanceFromListEntry,
  LogStreamReader,
  topDescriptors,
  topProcessesFrom,
} from './engine-json.js';
import { hardenedCreateOptions } from './hardened-config.js';
import { InstanceOnHost } from './host-path-listing.js';
import { resolveExecutables } from './host-processes.js';

export interface DockerEngineOptions {
  socketPath: string;
  /**
   * Credentials for the registry the engine pulls from, sent with each pull as X-Registry-Auth
   * (herd's own /v2/ when `herd serve --v2-auth token`); never written to a file.
   */
  registryAuth?: { username: string; password: string; serveraddress: string };
}

export class DockerEngine implements Engine {
  readonly socketPath: string;
  private readonly docker: Docker;
  private readonly registryAuth: DockerEngineOptions['registryAuth'];
  /** Each running instance as this host sees it (by its first process), or `elsewhere` when it cannot. */
  private readonly onHost = new Map<string, InstanceOnHost | 'elsewhere'>();

  constructor(options: DockerEngineOptions) {
    this.socketPath = options.socketPath;
    this.docker = new Docker({ socketPath: options.socketPath });
    this.registryAuth = options.registryAuth;
  }

  async info(): Promise<EngineInfo> {
    const version = await this.call('reading the engine version', 'OTHER', () => this.docker.version());
    const podman = version.Components?.find((component) => /podman/i.test(component.Name));
    return podman
      ? { name: 'podman', version: podman.Version }
      : { name: 'docker', version: version.Version };
  }

  async ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    if (!spec.imageRef.endsWith(`@${spec.digest}`)) {
      throw new EngineError('IMAGE', `image reference ${spec.imageRef} does not name digest ${spec.digest}`);
    }
    if (await this.hasImage(spec.imageRef)) return;
    const what = `pulling ${spec.imageRef}`;
    // docker-modem sends `authconfig` as the X-Registry-Auth header and keeps it out of the query.
    const options = this.registryAuth ? { authconfig: this.registryAuth } : {};
    const pull = () => this.docker.pull(spec.imageRef, options) as Promise<Readable>;
    const stream = await this.call(what, 'IMAGE', pull);
    // Pull failures arrive as `{"error": …}` records inside a 200 response.
    const records = await readJsonLines(stream);
    const failure = records.find((record) => typeof record.error === 'string');
    if (failure) {
      throw new EngineError('IMAGE', `${what} failed on the engine at ${this.socketPath}: ${failure.error}`);
    }
    if (!(await this.hasImage(spec.imageRef))) {
      throw new EngineError(
        'IMAGE',
        `${what} finished, but the engine at ${this.socketPath} does not have it`,
      );
    }
  }

  /**
   * `DELETE /images/{id}?force=true`, by the image's id, so every name it has goes with it. Podman
   * drops the layers no other image holds and removes any instance still made from it; a later
   * pull of the same digest writes the layers again from what herd's registry serves.
   */
  async removeImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    if (!spec.imageRef.endsWith(`@${spec.digest}`)) {
      throw new EngineError('IMAGE', `image reference ${spec.imageRef} does not name digest ${spec.digest}`);
    }
    const what = `removing image ${spec.imageRef}`;
    let id: string;
    try {
      id = ((await this.docker.getImage(spec.imageRef).inspect()) as { Id: string }).Id;
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toEngineError(error, { socketPath: this.socketPath, what, fallback: 'IMAGE' });
    }
    try {
      await this.docker.getImage(id).remove({ force: true });
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toEngineError(error, { socketPath: this.socketPath, what, fallback: 'IMAGE' });
    }
  }

  /**
   * Loads an OCI archive or docker-archive (`herd image export`), for engines that cannot reach
   * herd's registry. Export the OCI archive with the image reference's repository as its ref
   * name: the engine keeps the manifest digest, so `ensureImage` then finds `<repository>@<digest>`.
   */
  async loadImage(archivePath: string): Promise<string[]> {
    const what = `loading ${archivePath}`;
    const response = await this.call(
      what,
      'IMAGE',
      () => this.docker.loadImage(createReadStream(archivePath)) as Promise<Readable>,
    );
    const records = await readJsonLines(response);
    const failure = records.find((record) => typeof record.error === 'string');
    if (failure)
      throw new EngineError('IMAGE', `${what} failed on the engine at ${this.socketPath}: ${failure.error}`);
    return records.flatMap((record) => {
      const loaded = /^Loaded image(?: ID)?: (.+)$/m.exec(String(record.stream ?? ''))?.[1];
      return loaded ? loaded.split(',').map((name) => name.trim()) : [];
    });
  }

  async create(spec: InstanceSpec): Promise<Instance> {
    const options = hardenedCreateOptions(spec);
    const what = `creating an instance of ${spec.service} from ${spec.imageRef}`;
    const container = await this.call(what, 'CREATE', () => this.docker.createContainer(options));
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw toEngineError(error, {
        socketPath: this.socketPath,
        what: `starting ${what}`,
        fallback: 'CREATE',
      });
    }
    const instance = await this.inspect(container.id);
    if (!instance)
      throw new EngineError('CREATE', `${what}: the engine lost instance ${container.id} at once`);
    return instance;
  }

  async remove(id: string): Promise<void> {
    this.onHost.delete(id);
    const container = this.docker.getContainer(id);
    let inspected: ContainerInspect;
    try {
      inspected = (await container.inspect()) as unknown as ContainerInspect;
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toEngineError(error, { socketPath: this.socketPath, what: `removing ${id}`, fallback: 'OTHER' });
    }
    // Only herd's own instances: an id of something else on the engine is as unknown as a wrong id.
    if (inspected.Config.Labels?.[instanceLabels.managedBy] !== 'herd') return;
    // The grace period set at create (StopTimeout), passed explicitly: not every engine defaults to it.
    const grace = inspected.Config.StopTimeout ?? 10;
    // 404 gone already, 304 already stopped, 409 someone else is removing it: all end where we want.
    const settled = (error: unknown) => {
      const status = statusOf(error);
      return status === 404 || status === 304 || (status === 409 && /in progress/i.test(String(error)));
    };
    for (const step of [
      () => (inspected.State.Status === 'running' ? container.stop({ t: grace }) : Promise.resolve()),
      () => container.remove({ force: true }),
    ]) {
      try {
        await step();
      } catch (error) {
        if (!settled(error)) {
          throw toEngineError(error, {
            socketPath: this.socketPath,
            what: `removing ${id}`,
            fallback: 'OTHER',
          });
        }
      }
    }
  }

  async list(filter: { service?: string } = {}): Promise<Instance[]> {
    const labels = [herdOnly];
    if (filter.service !== undefined) labels.push(`${instanceLabels.service}=${filter.service}`);
    const entries = (await this.call('listing instances', 'OTHER', () =>
      this.docker.listContainers({ all: true, filters: { label: labels } }),
    )) as unknown as ContainerListEntry[];
    const instances: Instance[] = [];
    for (const entry of entries) {
      let instance = instanceFromListEntry(entry);
      // The list gives an exit code only as text; ask once when it did not parse.
      if (instance?.state === 'exited' && instance.exitCode === undefined)
        instance = await this.inspect(entry.Id);
      if (instance && (filter.service === undefined || instance.service === filter.service))
        instances.push(instance);
    }
    if (filter.service === undefined) {
      // Pids of instances that are gone, removed by herd or not: forgotten.
      const running = new Set(instances.filter((one) => one.state === 'running').map((one) => one.id));
      for (const id of this.onHost.keys()) if (!running.has(id)) this.onHost.delete(id);
    }
    return instances;
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const bytes = await this.call(`reading logs of ${id}`, 'OTHER', () =>
      this.docker.getContainer(id).logs({
        stdout: true,
        stderr: true,
        follow: false,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
      }),
    );
    return demultiplexLogs(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as unknown as string));
  }

  /**
   * The engine's event stream, filtered to herd's label. The request starts now, not at the first
   * `next()`, and asks from the current second on (or from `since`, a cursor as the events carry
   * it: the engine replays what it recorded after that first), so what happens right after this
   * call is seen.
   */
  events(signal: AbortSignal, options: { since?: string } = {}): AsyncIterable<EngineEvent> {
    const since = eventsSince(options.since);
    const feed = new EventFeed<EngineEvent>();
    const iterable = feed.subscribe(signal);
    // A broken stream ends the subscriber's loop with an error, so it can resubscribe; the
    // controller resyncs on a timer anyway, so what was missed meanwhile costs only latency.
    const broken = (error: unknown) => {
      if (signal.aborted) return;
      feed.fail(
        toEngineError(error, { socketPath: this.socketPath, what: 'following events', fallback: 'OTHER' }),
      );
    };
    followContainerEvents(
      this.docker,
      { since, signal },
      {
        onRecord: (record) => {
          const event = engineEventFrom(record);
          if (event) feed.emit(event);
        },
        onEnd: broken,
      },
    );
    return iterable;
  }

  /**
   * `follow` ends the engine's stream when the container stops, so after a crash the output is read
   * to its end and then the iterable ends. `since` goes to the engine in whole seconds (all it
   * takes), and the lines before it within that second are dropped here.
   */
  async *followLogs(id: string, options: { since?: number; signal: AbortSignal }): AsyncIterable<LogLine> {
    const { since, signal } = options;
    if (signal.aborted) return;
    let stream: Readable;
    try {
      stream = (await this.docker.getContainer(id).logs({
        stdout: true,
        stderr: true,
        follow: true,
        timestamps: true,
        ...(since !== undefined ? { since: Math.floor(since / 1000) } : {}),
        abortSignal: signal,
      })) as unknown as Readable;
    } catch (error) {
      // Podman sends no headers until the first line: an abort before then is an ordinary end.
      if (signal.aborted) return;
      throw toEngineError(error, {
        socketPath: this.socketPath,
        what: `following logs of ${id}`,
        fallback: 'OTHER',
      });
    }
    const stop = () => stream.destroy();
    signal.addEventListener('abort', stop, { once: true });
    const reader = new LogStreamReader();
    const wanted = (line: LogLine) => since === undefined || line.time === 0 || line.time >= since;
    try {
      for await (const chunk of stream) {
        for (const line of reader.push(chunk as Buffer)) if (wanted(line)) yield line;
      }
    } catch (error) {
      // An abort or a removal mid-stream ends the iterable; anything else is the engine failing.
      if (!signal.aborted && !(await this.isGone(id))) {
        throw toEngineError(error, {
          socketPath: this.socketPath,
          what: `following logs of ${id}`,
          fallback: 'OTHER',
        });
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stream.destroy();
    }
    for (const line of reader.end()) if (wanted(line)) yield line;
  }

  async changes(id: string): Promise<FilesystemChange[]> {
    const body = await this.call(`reading filesystem changes of ${id}`, 'OTHER', () =>
      this.docker.getContainer(id).changes(),
    );
    return filesystemChangesFrom(body as ContainerChange[] | null);
  }

  async exportFilesystem(id: string, options: { signal?: AbortSignal } = {}): Promise<NodeJS.ReadableStream> {
    const stream = (await this.call(`exporting the filesystem of ${id}`, 'OTHER', () =>
      this.docker.getContainer(id).export(options.signal ? { abortSignal: options.signal } : {}),
    )) as unknown as Readable;
    destroyOnAbort(stream, options.signal);
    return stream;
  }

  /**
   * From the host, through /proc/<pid>/root, when herd runs beside the engine and sees the
   * instance's process (host-path-listing.ts); the pid is asked once per instance. Undefined
   * otherwise, and for a path that is no mount of the instance: the caller reads the archive.
   */
  async listPath(
    id: string,
    path: string,
    options: { signal?: AbortSignal; maxEntries?: number } = {},
  ): Promise<PathEntry[] | undefined> {
    let view = this.onHost.get(id);
    if (view === undefined) {
      const inspected = (await this.call(`inspecting ${id}`, 'OTHER', () =>
        this.docker.getContainer(id).inspect(),
      )) as unknown as ContainerInspect;
      if (inspected.State.Status !== 'running' || !inspected.State.Pid) {
        throw new EngineError(
          'NOT_FOUND',
          `instance ${id} is not running on the engine at ${this.socketPath}`,
        );
      }
      view = new InstanceOnHost({ pid: inspected.State.Pid, id: inspected.Id });
      this.onHost.set(id, view);
    }
    if (view === 'elsewhere') return undefined;
    const listing = await view.list(path, options);
    switch (listing.kind) {
      case 'listed':
        return listing.entries;
      case 'not-this-host':
        this.onHost.set(id, 'elsewhere');
        return undefined;
      case 'not-a-mount':
        return undefined;
      default:
        return assertNever(listing);
    }
  }

  async readPath(
    id: string,
    path: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<NodeJS.ReadableStream> {
    const stream = (await this.call(`reading ${path} of ${id}`, 'OTHER', () =>
      this.docker
        .getContainer(id)
        .getArchive({ path, ...(options.signal ? { abortSignal: options.signal } : {}) }),
    )) as unknown as Readable;
    destroyOnAbort(stream, options.signal);
    return stream;
  }

  /**
   * Top with Podman's own descriptors (read from /proc, nothing run in the instance), then each
   * process's executable from the host's /proc (host-processes.ts).
   */
  async processes(id: string, options: { hash?: boolean } = {}): Promise<InstanceProcess[]> {
    const body = await this.call(`listing the processes of ${id}`, 'OTHER', () =>
      this.docker.getContainer(id).top({ ps_args: topDescriptors }),
    );
    return resolveExecutables(topProcessesFrom(body as ContainerTop, `instance ${id}`), {
      hash: options.hash === true,
    });
  }

  /** One reading, not a stream: `stream=false` answers at once on Podman 4.3 (its precpu is empty). */
  async stats(id: string): Promise<InstanceStats> {
    const body = await this.call(`reading the stats of ${id}`, 'OTHER', () =>
      this.docker.getContainer(id).stats({ stream: false }),
    );
    return instanceStatsFrom(body as ContainerStats, `instance ${id}`, Date.now());
  }

  async debugExec(id: string, options: DebugExecOptions): Promise<DebugExec> {
    return this.call(`opening a debug session in ${id}`, 'OTHER', () =>
      startDebugExec(this.docker.getContainer(id), options),
    );
  }

  private async isGone(id: string): Promise<boolean> {
    try {
      await this.docker.getContainer(id).inspect();
      return false;
    } catch (error) {
      return statusOf(error) === 404;
    }
  }

  private async hasImage(imageRef: string): Promise<boolean> {
    try {
      await this.docker.getImage(imageRef).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw toEngineError(error, {
        socketPath: this.socketPath,
        what: `looking up ${imageRef}`,
        fallback: 'IMAGE',
      });
    }
  }

  private async inspect(id: string): Promise<Instance | undefined> {
    const container = await this.call(`inspecting ${id}`, 'OTHER', () =>
      this.docker.getContainer(id).inspect(),
    );
    return instanceFromInspect(container as unknown as ContainerInspect);
  }

  private async call<T>(what: string, fallback: EngineError['code'], action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw toEngineError(error, { socketPath: this.socketPath, what, fallback });
    }
  }

  /** For callers that want to fail early with the socket named, before any real work. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw unreachable(this.socketPath, error);
    }
  }
}

async function readJsonLines(stream: Readable): Promise<JsonRecord[]> {
  const records: JsonRecord[] = [];
  await new Promise<void>((resolve, reject) => {
    forEachJsonLine(stream, (record) => records.push(record));
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  return records;
}

/**
 * The integrity monitor reads paths every second under one long-lived signal: a listener left on it
 * per stream would pile up (MaxListenersExceededWarning) and keep every stream alive. So the
 * listener goes when the stream closes.
 */
function destroyOnAbort(stream: Readable, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const stop = () => stream.destroy(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', stop));
}

function assertNever(value: never): never {
  throw new Error(`unhandled host listing ${JSON.stringify(value)}`);
}
