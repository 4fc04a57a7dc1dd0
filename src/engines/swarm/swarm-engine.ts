/**
 * The Engine on a Docker Swarm: one instance is one service of one task (service-spec.ts), created
 * and removed through the manager's API; Swarm places it, herd does not schedule. What happens
 * inside an instance (its output, filesystem, processes, exec events) is the container's, on the
 * node it runs on: read through that node's own Docker API socket, with the DockerEngine code.
 *
 * Images: `ensureImage` has every ready node pull the digest from herd's /v2/ (the nodes must
 * reach it: `imageRef` names an address they can, and the nodes trust it as an insecure registry
 * when it is plain HTTP), so that `removeImage` on every node makes a later create fail with IMAGE
 * until the image is fetched anew, as on one engine.
 *
 * A lost node: Swarm marks it down and shuts its tasks down, but with restart condition `none`
 * makes no other. Its instances are gone for herd (as the memory engine's `failNode` says it), so
 * `list` leaves them out and removes their services; herd's controller creates replacements and
 * Swarm places them on the nodes left.
 */
import Docker from 'dockerode';
import { eventsSince, followContainerEvents, herdOnly } from '../docker/container-events.js';
import { DockerEngine } from '../docker/docker-engine.js';
import { statusOf, toEngineError } from '../docker/engine-errors.js';
import { resolveExecutables } from '../docker/host-processes.js';
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
import { hostPathArchive } from './host-path-archive.js';
import { dockerTopArgs, namespaceProcesses, topPidsFrom } from './namespace-processes.js';
import { hardenedServiceSpec, type SwarmPlacement, serviceNameFor } from './service-spec.js';
import {
  currentTask,
  instanceFromService,
  isLost,
  type SwarmNode,
  type SwarmService,
  type SwarmTask,
  swarmEventFrom,
} from './swarm-json.js';

export interface SwarmEngineOptions {
  /** A manager's API socket. */
  managerSocket: string;
  /**
   * Each node's own API socket, by the node's address as the swarm knows it (`Status.Addr`): where
   * the instance-level reads go. A node without one runs instances that herd cannot watch.
   */
  nodeSockets: Readonly<Record<string, string>>;
  /** Placement for every instance (constraints); the spec's own `placement` is added to it. */
  placement?: SwarmPlacement;
  registryAuth?: { username: string; password: string; serveraddress: string };
  /** How long a create waits for its task to run; default 60 s (a pull on a fresh node). */
  startTimeoutMs?: number;
}

interface OnNode {
  engine: DockerEngine;
  docker: Docker;
  containerId: string;
  node: string;
}

export class SwarmEngine implements Engine {
  private readonly manager: Docker;
  private readonly managerSocket: string;
  private readonly nodes = new Map<string, { engine: DockerEngine; docker: Docker; socketPath: string }>();

  constructor(private readonly options: SwarmEngineOptions) {
    this.managerSocket = options.managerSocket;
    this.manager = new Docker({ socketPath: options.managerSocket });
    for (const [address, socketPath] of Object.entries(options.nodeSockets)) {
      this.nodes.set(address, {
        socketPath,
        docker: new Docker({ socketPath }),
        engine: new DockerEngine({
          socketPath,
          ...(options.registryAuth ? { registryAuth: options.registryAuth } : {}),
        }),
      });
    }
  }

  /**
   * The manager's version and how many nodes are ready, and what of herd's hardening Swarm leaves
   * out: checked on a running instance's container when there is one, else by what the service
   * API can carry (20.10's has no no-new-privileges).
   */
  async info(): Promise<EngineInfo> {
    const version = await this.call('reading the manager version', 'OTHER', () => this.manager.version());
    const nodes = await this.swarmNodes();
    const ready = [...nodes.values()].filter((node) => node.Status.State === 'ready').length;
    let noNewPrivileges = false;
    const running = (await this.list()).find((instance) => instance.state === 'running');
    if (running) {
      const onNode = await this.onNode(running.id).catch(() => undefined);
      const inspected = (await onNode?.docker
        .getContainer(onNode.containerId)
        .inspect()
        .catch(() => undefined)) as { HostConfig?: { SecurityOpt?: string[] | null } } | undefined;
      noNewPrivileges = (inspected?.HostConfig?.SecurityOpt ?? []).some((opt) =>
        /^no-new-privileges(?::true|=true)?$/.test(opt),
      );
    }
    return {
      name: 'swarm',
      version: `${version.Version} (API ${version.ApiVersion}, ${ready} of ${nodes.size} nodes ready)`,
      ...(noNewPrivileges ? {} : { unapplied: ['no-new-privileges'] }),
    };
  }

  async ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    for (const node of await this.readyNodes()) await node.engine.ensureImage(spec);
  }

  async removeImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    for (const node of await this.readyNodes()) await node.engine.removeImage(spec);
  }

  async create(spec: InstanceSpec): Promise<Instance> {
    const what = `creating an instance of ${spec.service} from ${spec.imageRef}`;
    const constraints = [
      ...(this.options.placement?.constraints ?? []),
      ...(spec.placement?.constraints ?? []),
    ];
    let body: Record<string, unknown>;
    try {
      body = hardenedServiceSpec(spec, { name: serviceNameFor(spec), placement: { constraints } });
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError(
        'CREATE',
        `refusing to create an instance of ${spec.service}: ${(error as Error).message}`,
      );
    }
    await this.requireImage(spec);
    const auth = this.options.registryAuth;
    const created = (await this.call(what, 'CREATE', () =>
      auth ? this.manager.createService(auth, body) : this.manager.createService(body),
    )) as { id?: string; ID?: string };
    const id = created.id ?? created.ID;
    if (!id) throw new EngineError('CREATE', `${what}: the manager answered without a service id`);
    try {
      return await this.untilStarted(id, what);
    } catch (error) {
      await this.manager
        .getService(id)
        .remove()
        .catch(() => undefined);
      throw error;
    }
  }

  async remove(id: string): Promise<void> {
    let service: SwarmService;
    try {
      service = (await this.manager.getService(id).inspect()) as SwarmService;
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toEngineError(error, {
        socketPath: this.managerSocket,
        what: `removing ${id}`,
        fallback: 'OTHER',
      });
    }
    // Only herd's own instances: an id of something else on the swarm is as unknown as a wrong id.
    if (service.Spec.Labels?.[instanceLabels.managedBy] !== 'herd') return;
    const onNode = await this.onNode(id).catch(() => undefined);
    try {
      await this.manager.getService(service.ID).remove();
    } catch (error) {
      if (statusOf(error) !== 404)
        throw toEngineError(error, {
          socketPath: this.managerSocket,
          what: `removing ${id}`,
          fallback: 'OTHER',
        });
    }
    // The node stops the container with its grace period after the service is gone: wait for
    // that, as a remove on one engine returns once the instance is stopped.
    if (onNode) await this.containerGone(onNode, 60_000);
  }

  async list(filter: { service?: string } = {}): Promise<Instance[]> {
    const labels = [herdOnly];
    if (filter.service !== undefined) labels.push(`${instanceLabels.service}=${filter.service}`);
    const services = (await this.call('listing services', 'OTHER', () =>
      this.manager.listServices({ filters: { label: labels } }),
    )) as unknown as SwarmService[];
    if (services.length === 0) return [];
    const tasks = (await this.call('listing tasks', 'OTHER', () =>
      this.manager.listTasks(),
    )) as unknown as SwarmTask[];
    const nodes = await this.swarmNodes();
    const byService = new Map<string, SwarmTask[]>();
    for (const task of tasks) byService.set(task.ServiceID, [...(byService.get(task.ServiceID) ?? []), task]);
    const instances: Instance[] = [];
    for (const service of services) {
      const task = currentTask(byService.get(service.ID) ?? []);
      if (isLost(task, nodes)) {
        // Gone with its node: nothing will run it again, so its service goes too.
        await this.manager
          .getService(service.ID)
          .remove()
          .catch(() => undefined);
        continue;
      }
      const instance = instanceFromService(service, task, nodes);
      if (instance && (filter.service === undefined || instance.service === filter.service))
        instances.push(instance);
    }
    return instances;
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const onNode = await this.onNode(id);
    return onNode.engine.logs(onNode.containerId, options);
  }

  /**
   * Every node's container events, as the instance's (its service id), merged. A node that stops
   * answering drops out (the controller's resync sees what it missed); the feed fails only when no
   * node answers. Cursors are the events' times, which every node of this host's clock shares.
   */
  events(signal: AbortSignal, options: { since?: string } = {}): AsyncIterable<EngineEvent> {
    const since = eventsSince(options.since);
    const feed = new EventFeed<EngineEvent>();
    const iterable = feed.subscribe(signal);
    let open = this.nodes.size;
    const broken = (socketPath: string, error: unknown) => {
      open -= 1;
      if (signal.aborted || open > 0) return;
      feed.fail(toEngineError(error, { socketPath, what: 'following events', fallback: 'OTHER' }));
    };
    for (const node of this.nodes.values()) {
      let ended = false;
      const end = (error: unknown) => {
        if (ended) return;
        ended = true;
        broken(node.socketPath, error);
      };
      followContainerEvents(
        node.docker,
        { since, signal },
        {
          onRecord: (record) => {
            const event = swarmEventFrom(record);
            if (event) feed.emit(event);
          },
          onEnd: end,
        },
      );
    }
    return iterable;
  }

  async *followLogs(id: string, options: { since?: number; signal: AbortSignal }): AsyncIterable<LogLine> {
    const onNode = await this.onNode(id);
    yield* onNode.engine.followLogs(onNode.containerId, options);
  }

  async changes(id: string): Promise<FilesystemChange[]> {
    const onNode = await this.onNode(id);
    return onNode.engine.changes(onNode.containerId);
  }

  async exportFilesystem(id: string, options: { signal?: AbortSignal } = {}): Promise<NodeJS.ReadableStream> {
    const onNode = await this.onNode(id);
    return onNode.engine.exportFilesystem(onNode.containerId, options);
  }

  async readPath(
    id: string,
    path: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<NodeJS.ReadableStream> {
    const onNode = await this.onNode(id);
    // A tmpfs, seen from this host: Docker's archive would miss what is on it (host-path-archive.ts).
    const listed = await onNode.engine.listPath(onNode.containerId, path, options).catch(() => undefined);
    if (listed) {
      const inspected = (await this.call(`inspecting ${id}`, 'OTHER', () =>
        onNode.docker.getContainer(onNode.containerId).inspect(),
      )) as unknown as { State: { Pid: number } };
      return hostPathArchive(inspected.State.Pid, path, listed);
    }
    return onNode.engine.readPath(onNode.containerId, path, options);
  }

  async listPath(
    id: string,
    path: string,
    options: { signal?: AbortSignal; maxEntries?: number } = {},
  ): Promise<PathEntry[] | undefined> {
    const onNode = await this.onNode(id);
    return onNode.engine.listPath(onNode.containerId, path, options);
  }

  /** Docker's top for the container's own pids, placed in the instance through /proc (namespace-processes.ts). */
  async processes(id: string, options: { hash?: boolean } = {}): Promise<InstanceProcess[]> {
    const onNode = await this.onNode(id);
    const where = `instance ${id} on ${onNode.node}`;
    const container = onNode.docker.getContainer(onNode.containerId);
    const inspected = (await this.call(`inspecting ${where}`, 'OTHER', () =>
      container.inspect(),
    )) as unknown as {
      State: { Running: boolean; Pid: number };
    };
    if (!inspected.State.Running) throw new EngineError('NOT_FOUND', `${where} is not running`);
    const top = await this.call(`listing the processes of ${where}`, 'OTHER', () =>
      container.top({ ps_args: dockerTopArgs }),
    );
    const sampled = await namespaceProcesses(topPidsFrom(top, where), inspected.State.Pid, where);
    return resolveExecutables(sampled, { hash: options.hash === true });
  }

  async stats(id: string): Promise<InstanceStats> {
    const onNode = await this.onNode(id);
    return onNode.engine.stats(onNode.containerId);
  }

  async debugExec(id: string, options: DebugExecOptions): Promise<DebugExec> {
    const onNode = await this.onNode(id);
    return onNode.engine.debugExec(onNode.containerId, options);
  }

  /** The container an instance is now, and the node's API that has it: NOT_FOUND when it has none. */
  async onNode(id: string): Promise<OnNode> {
    const tasks = (await this.call(`finding the task of ${id}`, 'OTHER', () =>
      this.manager.listTasks({ filters: { service: [id] } }),
    )) as unknown as SwarmTask[];
    const task = currentTask(tasks.filter((one) => one.ServiceID === id));
    const containerId = task?.Status.ContainerStatus?.ContainerID;
    if (!task?.NodeID || !containerId) {
      throw new EngineError(
        'NOT_FOUND',
        `instance ${id} has no container on the swarm at ${this.managerSocket}`,
      );
    }
    const node = (await this.swarmNodes()).get(task.NodeID);
    const address = node?.Status.Addr ?? '';
    const reach = this.nodes.get(address);
    if (!reach) {
      throw new EngineError(
        'UNREACHABLE',
        `instance ${id} runs on swarm node ${node?.Description?.Hostname ?? task.NodeID} (${address || 'no address'}), whose API socket herd was not given`,
      );
    }
    return {
      engine: reach.engine,
      docker: reach.docker,
      containerId,
      node: node?.Description?.Hostname ?? task.NodeID,
    };
  }

  /** Every node that must have an image before an instance of it may be made: the ready ones herd reaches. */
  private async readyNodes() {
    const nodes = await this.swarmNodes();
    return [...nodes.values()]
      .filter((node) => node.Status.State === 'ready')
      .flatMap((node) => {
        const reach = this.nodes.get(node.Status.Addr ?? '');
        return reach ? [reach] : [];
      });
  }

  /** IMAGE unless every ready node herd reaches has the image: herd fetches only through ensureImage. */
  private async requireImage(spec: InstanceSpec): Promise<void> {
    for (const node of await this.readyNodes()) {
      try {
        await node.docker.getImage(spec.imageRef).inspect();
      } catch (error) {
        if (statusOf(error) === 404) {
          throw new EngineError(
            'IMAGE',
            `the swarm node at ${node.socketPath} does not have ${spec.imageRef}: ensureImage fetches it first`,
          );
        }
        throw toEngineError(error, {
          socketPath: node.socketPath,
          what: `looking up ${spec.imageRef}`,
          fallback: 'IMAGE',
        });
      }
    }
  }

  private async untilStarted(id: string, what: string): Promise<Instance> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    for (;;) {
      const tasks = (await this.call(what, 'CREATE', () =>
        this.manager.listTasks({ filters: { service: [id] } }),
      )) as unknown as SwarmTask[];
      const task = currentTask(tasks.filter((one) => one.ServiceID === id));
      const state = task?.Status.State;
      const started = task?.Status.ContainerStatus?.ContainerID !== undefined;
      if (state === 'running' || (state && ['complete', 'failed'].includes(state) && started)) {
        const [instance] = (await this.list()).filter((one) => one.id === id);
        if (instance) return instance;
      }
      const failure = task?.Status.Err ?? '';
      if (state && ['rejected', 'failed', 'shutdown', 'orphaned'].includes(state) && !started) {
        const code = /image|pull|manifest|repository/i.test(failure) ? 'IMAGE' : 'CREATE';
        throw new EngineError(
          code,
          `${what} failed on the swarm at ${this.managerSocket}: ${failure || state}`,
        );
      }
      if (/no suitable node/i.test(failure)) {
        throw new EngineError('CREATE', `${what}: no swarm node may run it (${failure})`);
      }
      if (Date.now() > deadline) {
        throw new EngineError(
          'CREATE',
          `${what}: its task did not run within ${this.options.startTimeoutMs ?? 60_000} ms (${state ?? 'no task'}${failure ? `: ${failure}` : ''})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async containerGone(onNode: OnNode, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      try {
        await onNode.docker.getContainer(onNode.containerId).inspect();
      } catch {
        return; // 404, or a node that no longer answers: either way nothing to wait for
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async swarmNodes(): Promise<Map<string, SwarmNode>> {
    const nodes = (await this.call('listing swarm nodes', 'OTHER', () =>
      this.manager.listNodes(),
    )) as unknown as SwarmNode[];
    return new Map(nodes.map((node) => [node.ID, node]));
  }

  private async call<T>(what: string, fallback: EngineError['code'], action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw toEngineError(error, { socketPath: this.managerSocket, what, fallback });
    }
  }
}
