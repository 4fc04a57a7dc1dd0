/**
 * The Engine on a Kubernetes cluster, through @kubernetes/client-node: one instance is one Pod that
 * herd's controller makes and removes itself (docs/adr/0014 says why not a Deployment under herd),
 * in one namespace that `herd render kubernetes` prepared (its admission policy, its ConfigMap of
 * admitted digests, herd's role). The client is imported when an engine connects, never at start.
 *
 * What Kubernetes' API cannot do as the contract asks throws EngineError UNSUPPORTED naming what is
 * missing: an instance's filesystem export and paths (the kubelet's container runtime holds them
 * on the node; the API has no read of them), its processes, and a debug exec (herd's role has no
 * `pods/exec` or `pods/attach`, on purpose). The diff (`changes`) is read by herd's drift probe in
 * an ephemeral container (drift-probes.ts), given its image; without one it is UNSUPPORTED too. An
 * exec by anyone else is not an event of the API either: it is in the API server's audit log.
 * docs/engines.md lists these.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type {
  CoreV1Api,
  KubeConfig,
  Log as LogClient,
  V1ConfigMap,
  V1Pod,
  VersionApi,
  Watch as WatchClient,
} from '@kubernetes/client-node';
import {
  type DebugExec,
  type Engine,
  EngineError,
  type EngineEvent,
  type EngineInfo,
  type FilesystemChange,
  type Instance,
  type InstanceProcess,
  type InstanceSpec,
  instanceLabels,
  type LogLine,
} from '../engine.js';
import { EventFeed } from '../event-feed.js';
import { admittedDigestKey, admittedDigestsName, driftProbeDigestKey } from './admission-objects.js';
import { workloadAccountName } from './controller-rbac.js';
import { type DriftProbeOptions, DriftProbes } from './drift-probes.js';
import { instanceSecretFor, instanceSecretName } from './instance-secret.js';
import { instanceFromPod, startFailureOf, stateOf } from './pod-json.js';
import { instanceContainerName, podTemplateFor } from './pod-template.js';

export interface KubernetesEngineOptions {
  /** The namespace herd's pods live in; `herd render kubernetes` made it ready. */
  namespace: string;
  /** A kubeconfig file; absent: the cluster and credentials of a pod's own service account. */
  kubeconfig?: string;
  /** A cluster by hand (tests, a token from elsewhere) instead of a kubeconfig. */
  cluster?: { server: string; token?: string; skipTLSVerify?: boolean };
  /**
   * Where the cluster's nodes pull herd's images from (`registry.example:5000/team`): the host of an
   * instance's `imageRef` (herd's own registry on loopback, which no node reaches) is replaced by
   * it, the repository and the digest kept.
   */
  pullFrom?: string;
  /** How long `create` waits for the pod to run; 120 s by default (an image pull takes a while). */
  startTimeoutMs?: number;
  /** How long past its grace period `remove` waits for a pod to be gone; 30 s by default. */
  removeMarginMs?: number;
  /** How often `create` and `remove` look at a pod they wait on. */
  pollMs?: number;
  /**
   * Drift watch: `changes` adds herd's probe to the pod as an ephemeral container (drift-probes.ts).
   * Absent, `changes` throws UNSUPPORTED.
   */
  driftProbe?: DriftProbeOptions;
}

interface Clients {
  config: KubeConfig;
  core: CoreV1Api;
  version: VersionApi;
  log: LogClient;
  watch: WatchClient;
}

export class KubernetesEngine implements Engine {
  private constructor(
    private readonly clients: Clients,
    private readonly options: KubernetesEngineOptions,
  ) {}

  /** Loads the client and the credentials; reaches nothing yet (`info` does). */
  static async connect(options: KubernetesEngineOptions): Promise<KubernetesEngine> {
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    if (options.cluster) {
      config.loadFromOptions({
        clusters: [
          {
            name: 'herd',
            server: options.cluster.server,
            skipTLSVerify: options.cluster.skipTLSVerify ?? false,
          },
        ],
        users: [{ name: 'herd', ...(options.cluster.token ? { token: options.cluster.token } : {}) }],
        contexts: [{ name: 'herd', cluster: 'herd', user: 'herd', namespace: options.namespace }],
        currentContext: 'herd',
      });
    } else if (options.kubeconfig) {
      config.loadFromFile(options.kubeconfig);
    } else {
      config.loadFromCluster();
    }
    const clients: Clients = {
      config,
      core: config.makeApiClient(k8s.CoreV1Api),
      version: config.makeApiClient(k8s.VersionApi),
      log: new k8s.Log(config),
      watch: new k8s.Watch(config),
    };
    return new KubernetesEngine(clients, options);
  }

  private get namespace(): string {
    return this.options.namespace;
  }

  async info(): Promise<EngineInfo> {
    const version = await this.call('reading the version', () => this.clients.version.getCode());
    return { name: 'kubernetes', version: version.gitVersion };
  }

  /**
   * Admits the digest in the namespace: its key in the ConfigMap the admission policy reads. The
   * nodes pull the image themselves, by digest, when a pod needs it.
   */
  async ensureImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    await this.editAdmitted(spec.digest, 'admit');
  }

  /**
   * Withdraws the digest's admission: no new pod of it passes the admission policy. The copies in
   * the nodes' container runtimes are the kubelet's to collect; the API cannot remove them.
   */
  async removeImage(spec: Pick<InstanceSpec, 'imageRef' | 'digest'>): Promise<void> {
    await this.editAdmitted(spec.digest, 'withdraw');
  }

  /**
   * The pod first, then its environment as a Secret it owns (instance-secret.ts): the pod reads
   * each value with `secretKeyRef`, and its spec holds none. herd names the pod itself, so the
   * Secret's name is known before either exists; a crash between the two leaves a pod that never
   * starts (the controller replaces it), never a Secret without an owner.
   */
  async create(spec: InstanceSpec): Promise<Instance> {
    const pinned = { ...spec, imageRef: this.pullReference(spec.imageRef) };
    const names = Object.keys(spec.env);
    const bodyFor = (name: string): V1Pod => {
      // The instances' account, made by `herd render kubernetes`: it holds no token.
      const template = podTemplateFor(pinned, {
        restartPolicy: 'Never',
        serviceAccountName: workloadAccountName,
        ...(names.length > 0 ? { secretEnv: { secretName: instanceSecretName(name), names } } : {}),
      });
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...template.metadata, name, namespace: this.namespace },
        spec: template.spec,
      };
    };
    let body = bodyFor(podNameFor(spec));
    const admitted = await this.admittedDigests();
    if (!admitted.has(admittedDigestKey(spec.digest))) {
      throw new EngineError(
        'IMAGE',
        `image ${spec.digest} is not admitted in namespace ${this.namespace} (configmap ${admittedDigestsName}): expected ensureImage first`,
      );
    }
    let created: V1Pod;
    for (let attempt = 1; ; attempt += 1) {
      try {
        created = await this.clients.core.createNamespacedPod({ namespace: this.namespace, body });
        break;
      } catch (error) {
        // A name taken (409 AlreadyExists), as generateName would have retried: another suffix.
        if (statusOf(error) === 409 && attempt < 3) {
          body = bodyFor(podNameFor(spec));
          continue;
        }
        throw toEngineError(
          error,
          `creating a pod of ${spec.service} in namespace ${this.namespace}`,
          'CREATE',
        );
      }
    }
    const name = created.metadata?.name ?? '';
    if (names.length > 0) await this.createSecret(created, spec);
    return this.waitUntilStarted(name, spec.service);
  }

  async remove(id: string): Promise<void> {
    const deleted = await this.call(`removing pod ${id}`, () =>
      this.clients.core.deleteNamespacedPod({ name: id, namespace: this.namespace }),
    ).catch((error: unknown) => {
      if (error instanceof EngineError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
    if (!deleted) return;
    // Its Secret at once, not when the garbage collector gets to it: the values outlive the
    // instance by no more than this. The name is the pod's own (never one its spec names).
    if (readsOwnSecret(deleted)) await this.deleteSecret(instanceSecretName(id));
    // Gone from the API once the kubelet stopped it within its grace period, and a little more for
    // the kubelet to report it; a pod held longer (a finalizer, a lost node) is said to be so.
    let deadline: number | undefined;
    for (;;) {
      const pod = await this.readPod(id);
      if (!pod) return;
      deadline ??=
        Date.now() +
        (pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000 +
        (this.options.removeMarginMs ?? 30_000);
      if (Date.now() > deadline) {
        throw new EngineError(
          'OTHER',
          `pod ${id} in namespace ${this.namespace} is still there after its grace period of ${pod.spec?.terminationGracePeriodSeconds ?? 30} s: expected it gone (finalizers: ${JSON.stringify(pod.metadata?.finalizers ?? [])}, node: ${pod.spec?.nodeName ?? 'none'})`,
        );
      }
      await sleep(this.options.pollMs ?? 250);
    }
  }

  async list(filter: { service?: string } = {}): Promise<Instance[]> {
    const selector = [`${instanceLabels.managedBy}=herd`];
    if (filter.service !== undefined) selector.push(`${instanceLabels.service}=${filter.service}`);
    const pods = await this.call('listing pods', () =>
      this.clients.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector.join(',') }),
    );
    return pods.items.flatMap((pod) => {
      const instance = instanceFromPod(pod);
      return instance && (filter.service === undefined || instance.service === filter.service)
        ? [instance]
        : [];
    });
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    return this.call(`reading the logs of pod ${id}`, () =>
      this.clients.core.readNamespacedPodLog({
        name: id,
        namespace: this.namespace,
        container: instanceContainerName,
        ...(options.tail !== undefined ? { tailLines: options.tail } : {}),
      }),
    );
  }

  /**
   * Pods of herd's watched from the list's resourceVersion (or `since`, an event's cursor, which is
   * the pod's resourceVersion then): started when its container runs, exited when it ended, removed
   * when the pod is gone. The API has no exec event (that is the audit log's).
   */
  async *events(signal: AbortSignal, options: { since?: string } = {}): AsyncIterable<EngineEvent> {
    const feed = new EventFeed<EngineEvent>();
    const events = feed.subscribe(signal);
    const seen = new Map<string, { started: boolean; exited: boolean }>();
    const from =
      options.since ??
      (
        await this.call('listing pods', () =>
          this.clients.core.listNamespacedPod({
            namespace: this.namespace,
            labelSelector: `${instanceLabels.managedBy}=herd`,
          }),
        )
      ).metadata?.resourceVersion;
    // The watch resolves once the API server answers; an abort before then ends this at once.
    const opening = this.clients.watch.watch(
      `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`,
      { labelSelector: `${instanceLabels.managedBy}=herd`, ...(from ? { resourceVersion: from } : {}) },
      (type: string, pod: V1Pod) => {
        if (type === 'ERROR') {
          // A Status, not a pod: 410 Gone when `since` is older than the history the API keeps.
          const status = pod as { code?: number; message?: string };
          feed.fail(
            new EngineError(
              status.code === 410 ? 'NOT_FOUND' : 'OTHER',
              `the watch of pods in ${this.namespace} from resourceVersion ${from} ended: ${status.code} ${status.message ?? ''}; expected a cursor the API server still keeps (about five minutes of history): list again and watch from now`,
            ),
          );
          return;
        }
        for (const event of podEvents(type, pod, seen)) feed.emit(event);
      },
      (error: unknown) => {
        if (!signal.aborted)
          feed.fail(
            new EngineError('UNREACHABLE', `the watch of pods in ${this.namespace} ended: ${String(error)}`),
          );
      },
    );
    let stopOpening = () => {};
    const aborted = new Promise<undefined>((resolve) => {
      stopOpening = () => resolve(undefined);
      if (signal.aborted) resolve(undefined);
      else signal.addEventListener('abort', stopOpening, { once: true });
    });
    const watching = await Promise.race([opening, aborted]);
    signal.removeEventListener('abort', stopOpening);
    if (!watching) {
      void opening.then((late) => late.abort()).catch(() => undefined);
      return;
    }
    const stop = () => watching.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      yield* events;
    } finally {
      signal.removeEventListener('abort', stop);
      watching.abort();
    }
  }

  /**
   * The pod's log with the kubelet's timestamps, from `since`, until the container ends or the
   * signal aborts. The API merges stdout and stderr into one stream: every line says stdout.
   */
  async *followLogs(id: string, options: { since?: number; signal: AbortSignal }): AsyncIterable<LogLine> {
    const { since, signal } = options;
    if (signal.aborted) return;
    const stream = new PassThrough();
    let request: AbortController;
    // The request resolves once the API server answers, which may be only with the first line: an
    // abort before then ends this at once (as in `events`), and the late answer is cut.
    const opening = this.clients.log.log(this.namespace, id, instanceContainerName, stream, {
      follow: true,
      timestamps: true,
      ...(since !== undefined ? { sinceTime: new Date(since).toISOString() } : {}),
    });
    let stopOpening = () => {};
    const aborted = new Promise<undefined>((resolve) => {
      stopOpening = () => resolve(undefined);
      signal.addEventListener('abort', stopOpening, { once: true });
    });
    try {
      const opened = await Promise.race([opening, aborted]);
      if (!opened) {
        void opening.then((late) => late.abort()).catch(() => undefined);
        stream.end();
        return;
      }
      request = opened;
    } catch (error) {
      if (signal.aborted) return;
      throw toEngineError(error, `following the logs of pod ${id}`, 'OTHER');
    } finally {
      signal.removeEventListener('abort', stopOpening);
    }
    const stop = () => {
      request.abort();
      stream.end();
    };
    signal.addEventListener('abort', stop, { once: true });
    let partial = '';
    try {
      for await (const chunk of stream) {
        const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const text of lines) {
          const line = logLine(text);
          if (since === undefined || line.time >= since) yield line;
        }
      }
      if (partial !== '') yield logLine(partial);
    } finally {
      signal.removeEventListener('abort', stop);
      request.abort();
    }
  }

  private driftProbes: DriftProbes | undefined;

  /** The paths that differ from the image's signed file list, as the drift probe sees them. */
  async changes(id: string): Promise<FilesystemChange[]> {
    const probe = this.options.driftProbe;
    if (probe) {
      this.driftProbes ??= new DriftProbes(
        {
          core: this.clients.core,
          namespace: this.namespace,
          pollMs: this.options.pollMs ?? 250,
          call: (what, request) => this.call(what, request),
          readPod: (name) => this.readPod(name),
          admit: (image) => this.editAdmitted(image.digest, 'admit', driftProbeDigestKey(image.digest)),
          pullReference: (imageRef) => this.pullReference(imageRef),
        },
        probe,
      );
      return this.driftProbes.changes(id);
    }
    throw unsupported(
      `the filesystem changes of pod ${id}`,
      "the container runtime on the pod's node keeps them, and no driftProbe image was given to read them through an ephemeral container",
    );
  }

  async exportFilesystem(id: string): Promise<NodeJS.ReadableStream> {
    throw unsupported(`an export of pod ${id}'s filesystem`, 'the API reads no container filesystem');
  }

  async readPath(id: string, path: string): Promise<NodeJS.ReadableStream> {
    throw unsupported(
      `path ${path} of pod ${id}`,
      "reading it needs pods/exec (a tar in the instance), which herd's role does not grant",
    );
  }

  async processes(id: string): Promise<InstanceProcess[]> {
    throw unsupported(`the processes of pod ${id}`, 'the API has no top of a container');
  }

  async debugExec(id: string): Promise<DebugExec> {
    throw unsupported(
      `a debug session in pod ${id}`,
      "herd's role grants no pods/exec or pods/attach, and herd's admission policy lets in no ephemeral container but its drift probe",
    );
  }

  /** The ref a node pulls: `pullFrom` in place of the host of herd's own registry. */
  private pullReference(imageRef: string): string {
    const pullFrom = this.options.pullFrom;
    if (!pullFrom) return imageRef;
    const [first = '', ...rest] = imageRef.split('/');
    const hasHost = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
    const path = hasHost ? rest.join('/') : imageRef;
    return `${pullFrom.replace(/\/+$/, '')}/${path}`;
  }

  private async admittedDigests(): Promise<Set<string>> {
    const configMap = await this.readAdmitted();
    return new Set(Object.keys(configMap.data ?? {}));
  }

  private async readAdmitted(): Promise<V1ConfigMap> {
    return this.call(`reading configmap ${admittedDigestsName} (apply herd render kubernetes first)`, () =>
      this.clients.core.readNamespacedConfigMap({ name: admittedDigestsName, namespace: this.namespace }),
    );
  }

  /** Read, change, replace with the resourceVersion read: a concurrent edit makes a 409, and a retry. */
  private async editAdmitted(
    digest: `sha256:${string}`,
    change: 'admit' | 'withdraw',
    key = admittedDigestKey(digest),
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const configMap = await this.readAdmitted();
      const data = { ...(configMap.data ?? {}) };
      if ((change === 'admit') === key in data) return;
      if (change === 'admit') data[key] = digest;
      else delete data[key];
      try {
        await this.clients.core.replaceNamespacedConfigMap({
          name: admittedDigestsName,
          namespace: this.namespace,
          body: { ...configMap, data },
        });
        return;
      } catch (error) {
        if (statusOf(error) === 409 && attempt < 5) continue;
        const what = `${change === 'admit' ? 'admitting' : 'withdrawing'} ${digest} in namespace ${this.namespace}`;
        throw toEngineError(error, what, 'OTHER');
      }
    }
  }

  /** The pod's environment as its Secret; when that fails, the pod goes too (it could not start). */
  private async createSecret(pod: V1Pod, spec: InstanceSpec): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid;
    try {
      if (!uid) throw new Error(`the API server answered pod ${name} without a uid`);
      await this.clients.core.createNamespacedSecret({
        namespace: this.namespace,
        body: instanceSecretFor({ name, uid, namespace: this.namespace, service: spec.service }, spec.env),
      });
    } catch (error) {
      await this.remove(name).catch(() => undefined);
      throw toEngineError(
        error,
        `creating secret ${instanceSecretName(name)} of pod ${name} in namespace ${this.namespace}`,
        'CREATE',
      );
    }
  }

  private async deleteSecret(name: string): Promise<void> {
    await this.call(`removing secret ${name}`, async () => {
      await this.clients.core.deleteNamespacedSecret({ name, namespace: this.namespace });
    }).catch((error: unknown) => {
      // Gone already: the garbage collector was first.
      if (!(error instanceof EngineError && error.code === 'NOT_FOUND')) throw error;
    });
  }

  private async readPod(name: string): Promise<V1Pod | undefined> {
    try {
      return await this.call(`reading pod ${name}`, () =>
        this.clients.core.readNamespacedPod({ name, namespace: this.namespace }),
      );
    } catch (error) {
      if (error instanceof EngineError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** Until the container ran (or ended at once), or the kubelet says it never will. */
  private async waitUntilStarted(name: string, service: string): Promise<Instance> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 120_000);
    for (;;) {
      const pod = await this.readPod(name);
      if (!pod) throw new EngineError('CREATE', `pod ${name} of ${service} was removed before it started`);
      const { state } = stateOf(pod);
      const instance = instanceFromPod(pod);
      if (instance && (state === 'running' || state === 'exited')) return instance;
      // The kubelet may have looked for the pod's Secret before herd made it (just after the pod):
      // it tries again, and the Secret is there now. Any other failure is final.
      const failure = waitsForOwnSecret(pod) ? undefined : startFailureOf(pod);
      if (failure || Date.now() > deadline) {
        await this.remove(name).catch(() => undefined);
        throw new EngineError(
          failure?.code ?? 'CREATE',
          `pod ${name} of ${service} did not start: ${failure?.reason ?? `still ${pod.status?.phase ?? 'unknown'} after ${this.options.startTimeoutMs ?? 120_000} ms`}`,
        );
      }
      await sleep(this.options.pollMs ?? 250);
    }
  }

  private async call<T>(
    what: string,
    request: () => Promise<T>,
    fallback: 'CREATE' | 'OTHER' = 'OTHER',
  ): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toEngineError(error, `${what} in namespace ${this.namespace}`, fallback);
    }
  }
}

/** The engine's events for one watch event of a pod, each at most once per pod, in order. */
export function podEvents(
  type: string,
  pod: V1Pod,
  seen: Map<string, { started: boolean; exited: boolean }>,
): EngineEvent[] {
  const id = pod.metadata?.name;
  if (!id || !instanceFromPod(pod)) return [];
  const cursor = pod.metadata?.resourceVersion;
  const at = (event: EngineEvent): EngineEvent => (cursor ? { ...event, cursor } : event);
  const progress = seen.get(id) ?? { started: false, exited: false };
  seen.set(id, progress);
  const events: EngineEvent[] = [];
  const { state, exitCode } = stateOf(pod);
  const ran = state === 'running' || state === 'exited' || state === 'removing';
  if (ran && !progress.started) {
    progress.started = true;
    events.push(at({ kind: 'started', id }));
  }
  if ((state === 'exited' || type === 'DELETED') && !progress.exited && progress.started) {
    progress.exited = true;
    events.push(at({ kind: 'exited', id, exitCode: exitCode ?? 137 }));
  }
  if (type === 'DELETED') {
    seen.delete(id);
    events.push(at({ kind: 'removed', id }));
  }
  return events;
}

/**
 * A pod's name as generateName would make it (`<service>-<revision>-<5 characters>`), chosen by
 * herd so its Secret's name is known before the pod exists.
 */
function podNameFor(spec: Pick<InstanceSpec, 'service' | 'revision'>): string {
  // Kubernetes' own alphabet for generated names: no vowels, no 0, 1 and 3.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const suffix = [...randomBytes(5)].map((byte) => alphabet[byte % alphabet.length]).join('');
  return `${spec.service}-${spec.revision}-${suffix}`;
}

/** True when the pod's container reads its environment from the Secret named after the pod. */
function readsOwnSecret(pod: V1Pod): boolean {
  const own = instanceSecretName(pod.metadata?.name ?? '');
  return (pod.spec?.containers ?? []).some((container) =>
    (container.env ?? []).some((variable) => variable.valueFrom?.secretKeyRef?.name === own),
  );
}

/** True while the kubelet says the pod's own Secret is not there (`secret "<pod>-env" not found`). */
function waitsForOwnSecret(pod: V1Pod): boolean {
  const waiting = pod.status?.containerStatuses?.find((status) => status.name === instanceContainerName)
    ?.state?.waiting;
  const own = instanceSecretName(pod.metadata?.name ?? '');
  return (
    waiting?.reason === 'CreateContainerConfigError' &&
    (waiting.message ?? '').includes(`secret "${own}" not found`)
  );
}

/** `2026-12-03T22:00:00.123456789Z text`, as the kubelet stamps a line. */
function logLine(text: string): LogLine {
  const space = text.indexOf(' ');
  const time = space > 0 ? Date.parse(text.slice(0, space)) : Number.NaN;
  return Number.isFinite(time)
    ? { stream: 'stdout', time, text: text.slice(space + 1) }
    : { stream: 'stdout', time: 0, text };
}

function unsupported(what: string, why: string): EngineError {
  return new EngineError('UNSUPPORTED', `the kubernetes engine cannot read ${what}: ${why}`);
}

/** client-node's ApiException (`code`, `body`) or a transport error, as an EngineError. */
function toEngineError(error: unknown, what: string, fallback: 'CREATE' | 'OTHER'): EngineError {
  if (error instanceof EngineError) return error;
  const status = statusOf(error);
  const body = (error as { body?: unknown }).body;
  const message =
    typeof body === 'string'
      ? ((safeJson(body) as { message?: string } | undefined)?.message ?? body)
      : ((body as { message?: string } | undefined)?.message ?? String(error));
  if (typeof status === 'number') {
    const code = status === 404 ? 'NOT_FOUND' : fallback;
    return new EngineError(code, `${what}: the API server answered ${status}: ${message.slice(0, 500)}`, {
      cause: error,
    });
  }
  return new EngineError('UNREACHABLE', `${what}: the API server did not answer: ${String(error)}`, {
    cause: error,
  });
}

/** The HTTP status of client-node's ApiException; undefined for anything else. */
function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
