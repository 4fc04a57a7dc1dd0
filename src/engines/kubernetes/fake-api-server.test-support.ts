/**
 * A stand-in for the few endpoints of a Kubernetes API server the KubernetesEngine calls, on
 * loopback, recording every request: what proves the requests herd sends (the pod spec, the
 * digest, the labels, the admission ConfigMap's optimistic concurrency) without claiming a cluster.
 * Pods do what the test says: run at once (`autoRun`), fail to pull, print log lines, end.
 * It is not a cluster: no scheduler, kubelet, admission or RBAC; test/kubernetes-cluster/ is.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: an object as JSON, which each test shapes as it needs
type Pod = Record<string, any>;

export class FakeKubernetesApi {
  readonly requests: RecordedRequest[] = [];
  readonly pods = new Map<string, Pod>();
  /** Secrets by name, as created; no garbage collector removes them (a test reads what herd did). */
  readonly secrets = new Map<string, Pod>();
  /** Secret writes answered 403, as for a role without `secrets: create`. */
  secretsRefused = false;
  /** Answers the next n pod creates 409 AlreadyExists, as for a name another pod took. */
  podNamesTaken = 0;
  configMap: Pod | undefined;
  /** Pods run as soon as they are made; false leaves them Pending until `setWaiting`/`run`. */
  autoRun = true;
  /** Answers the next n configmap replaces with 409, as a concurrent edit would. */
  conflictsToAnswer = 0;
  readonly logs = new Map<string, string[]>();
  /** A line every pod prints as it starts, as the probe server does. */
  startLine: string | undefined;
  /** Pods of these digests exit with code 1 as soon as they run. */
  readonly exitingDigests = new Set<string>();
  /** A watch from an older resourceVersion is answered 410 Gone, as after the API's compaction. */
  oldestKept = 0;
  /** Pods a finalizer keeps: deleting one marks it and no more. */
  readonly held = new Set<string>();
  /**
   * Herd's drift probe, as the kubelet would run it in a pod: it prints the entries of the pod's
   * root here (by pod name; `defaultProbeRoot` for a pod with none) as probe/drift-probe.mjs prints
   * them, honouring its `--skip` arguments. Or it prints `log` and exits with `exitCode`, or never
   * ends (`hang`). The real probe on a real pid namespace is test/drift-probe.test.ts.
   */
  readonly probeRoots = new Map<string, Pod[]>();
  defaultProbeRoot: Pod[] = [];
  probeOutcome: 'list' | 'hang' | { log: string; exitCode: number } = 'list';
  /** Changes the pod just before the next n ephemeral container patches, so their `test` fails. */
  ephemeralConflictsToAnswer = 0;
  /** Logs of containers other than the workload's, by `<pod>/<container>`. */
  readonly containerLogs = new Map<string, string>();
  private revision = 100;
  private readonly history: { revision: number; type: string; object: Pod }[] = [];
  private readonly watchers = new Set<{ res: ServerResponse; selector: Record<string, string> }>();
  private readonly followers = new Map<string, Set<ServerResponse>>();
  private server: Server | undefined;

  constructor(readonly namespace = 'herd') {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const watcher of this.watchers) watcher.res.end();
    for (const set of this.followers.values()) for (const res of set) res.end();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Makes the admission ConfigMap, as `kubectl apply` of herd's rendered objects would. */
  admit(...digests: string[]): void {
    const data = Object.fromEntries(digests.map((digest) => [digest.replace(':', '-'), digest]));
    this.configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'herd-admitted-digests',
        namespace: this.namespace,
        resourceVersion: String(this.bump()),
      },
      data,
    };
  }

  /** A pod the kubelet cannot start: its container waits with `reason`. */
  setWaiting(name: string, reason: string, message = ''): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    pod.status = {
      phase: 'Pending',
      containerStatuses: [{ name: 'instance', ready: false, state: { waiting: { reason, message } } }],
    };
    this.changed('MODIFIED', pod);
  }

  run(name: string): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    pod.status = {
      phase: 'Running',
      podIP: '10.244.0.7',
      containerStatuses: [
        { name: 'instance', ready: true, state: { running: { startedAt: new Date().toISOString() } } },
      ],
    };
    this.changed('MODIFIED', pod);
    if (this.startLine !== undefined) this.print(name, this.startLine);
    const image: string = pod.spec?.containers?.[0]?.image ?? '';
    if ([...this.exitingDigests].some((digest) => image.endsWith(`@${digest}`))) this.exit(name, 1);
  }

  /** The container ends with `exitCode`; its log followers reach their end. */
  exit(name: string, exitCode: number): void {
    const pod = this.pods.get(name);
    if (!pod) return;
    const startedAt =
      pod.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? new Date().toISOString();
    pod.status = {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [
        {
          name: 'instance',
          ready: false,
          state: { terminated: { exitCode, startedAt, finishedAt: new Date().toISOString() } },
        },
      ],
    };
    this.changed('MODIFIED', pod);
    for (const res of this.followers.get(name) ?? []) res.end();
    this.followers.delete(name);
  }

  /** A line the container prints, stamped as the kubelet stamps it. */
  print(name: string, text: string, time = new Date()): void {
    const line = `${time.toISOString().replace('Z', '000000Z')} ${text}\n`;
    const lines = this.logs.get(name) ?? [];
    lines.push(line);
    this.logs.set(name, lines);
    for (const res of this.followers.get(name) ?? []) res.write(line);
  }

  /**
   * A JSON Patch (RFC 6902) of the ephemeralcontainers subresource, `test` and `add` as herd sends
   * them: the answer's status and body; each container added then runs as `probeOutcome` says.
   */
  private addEphemeral(name: string, ops: Pod[], contentType: string): { status: number; body: unknown } {
    const refuse = (status: number, message: string) => ({
      status,
      body: { kind: 'Status', code: status, message },
    });
    const pod = this.pods.get(name);
    if (!pod) return refuse(404, `pods "${name}" not found`);
    if (contentType !== 'application/json-patch+json' || !Array.isArray(ops)) {
      return refuse(415, `unsupported patch ${contentType}`);
    }
    if (this.ephemeralConflictsToAnswer > 0) {
      this.ephemeralConflictsToAnswer -= 1;
      this.changed('MODIFIED', pod);
    }
    const added: Pod[] = [];
    for (const op of ops) {
      const isTest = op.op === 'test' && op.path === '/metadata/resourceVersion';
      if (isTest && op.value !== pod.metadata.resourceVersion)
        return refuse(409, 'the test operation failed');
      const first = op.op === 'add' && op.path === '/spec/ephemeralContainers';
      const next = op.op === 'add' && op.path === '/spec/ephemeralContainers/-';
      if (first && !pod.spec.ephemeralContainers) added.push(...op.value);
      else if (next && pod.spec.ephemeralContainers) added.push(op.value);
      else if (!isTest) return refuse(422, `cannot apply ${JSON.stringify(op)}`);
    }
    const names = new Set((pod.spec.ephemeralContainers ?? []).map((one: Pod) => one.name));
    if (added.some((one) => names.has(one.name))) return refuse(422, 'duplicate ephemeral container name');
    pod.spec.ephemeralContainers = [...(pod.spec.ephemeralContainers ?? []), ...added];
    this.changed('MODIFIED', pod);
    for (const container of added) setImmediate(() => this.runProbe(pod, container));
    return { status: 200, body: pod };
  }

  private runProbe(pod: Pod, container: Pod): void {
    const outcome = this.probeOutcome;
    pod.status.ephemeralContainerStatuses ??= [];
    const statuses: Pod[] = pod.status.ephemeralContainerStatuses;
    if (outcome === 'hang') {
      statuses.push({ name: container.name, state: { running: { startedAt: new Date().toISOString() } } });
      this.changed('MODIFIED', pod);
      return;
    }
    let log: string;
    let exitCode = 0;
    if (outcome === 'list') {
      const args: string[] = container.args ?? [];
      const skips = args.flatMap((arg, index) => (args[index - 1] === '--skip' ? [arg] : []));
      const root = this.probeRoots.get(pod.metadata.name) ?? this.defaultProbeRoot;
      const isSkipped = (path: string) => skips.some((skip) => path === skip || path.startsWith(`${skip}/`));
      const shown = root.filter((entry) => !isSkipped(entry.path));
      const met = skips.filter((skip) => root.some((entry) => entry.path === skip));
      const summary = { summary: { entries: shown.length, unreadable: 0, pid: 7, skipped: met } };
      log = [...shown, summary].map((line) => `${JSON.stringify(line)}\n`).join('');
    } else {
      ({ log, exitCode } = outcome);
    }
    this.containerLogs.set(`${pod.metadata.name}/${container.name}`, log);
    statuses.push({ name: container.name, state: { terminated: { exitCode, reason: 'Completed' } } });
    this.changed('MODIFIED', pod);
  }

  private bump(): number {
    this.revision += 1;
    return this.revision;
  }

  private changed(type: string, pod: Pod): void {
    const revision = this.bump();
    pod.metadata.resourceVersion = String(revision);
    const object = structuredClone(pod);
    this.history.push({ revision, type, object });
    for (const watcher of this.watchers) {
      if (matches(object, watcher.selector)) watcher.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : undefined;
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? '', path: url.pathname, query, ...(body ? { body } : {}) });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const notFound = (what: string) =>
      json(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: `${what} not found`,
      });
    const base = `/api/v1/namespaces/${this.namespace}`;
    const path = url.pathname;

    if (req.method === 'GET' && path === '/version') {
      return json(200, { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' });
    }
    if (path === `${base}/configmaps/herd-admitted-digests`) {
      if (!this.configMap) return notFound('configmaps "herd-admitted-digests"');
      if (req.method === 'GET') return json(200, this.configMap);
      if (req.method === 'PUT') {
        if (
          this.conflictsToAnswer > 0 ||
          body.metadata?.resourceVersion !== this.configMap.metadata.resourceVersion
        ) {
          this.conflictsToAnswer = Math.max(0, this.conflictsToAnswer - 1);
          // A concurrent writer got there first.
          this.configMap.metadata.resourceVersion = String(this.bump());
          return json(409, {
            kind: 'Status',
            code: 409,
            reason: 'Conflict',
            message: 'the object has been modified',
          });
        }
        this.configMap = { ...body, metadata: { ...body.metadata, resourceVersion: String(this.bump()) } };
        return json(200, this.configMap);
      }
    }
    if (path === `${base}/secrets` && req.method === 'POST') {
      if (this.secretsRefused)
        return json(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'secrets is forbidden' });
      const name: string = body.metadata.name;
      if (this.secrets.has(name)) return json(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
      this.secrets.set(name, body);
      return json(201, body);
    }
    const secretPath = new RegExp(`^${base}/secrets/([^/]+)$`).exec(path);
    if (secretPath && req.method === 'DELETE') {
      const name = secretPath[1] ?? '';
      if (!this.secrets.delete(name)) return notFound(`secrets "${name}"`);
      return json(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    if (path === `${base}/pods` && req.method === 'POST') {
      const name: string =
        body.metadata.name ?? `${body.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
      if (this.pods.has(name) || this.podNamesTaken > 0) {
        this.podNamesTaken = Math.max(0, this.podNamesTaken - 1);
        return json(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
      }
      const pod: Pod = {
        ...body,
        metadata: {
          ...body.metadata,
          name,
          uid: randomBytes(8).toString('hex'),
          creationTimestamp: new Date().toISOString(),
        },
        status: { phase: 'Pending' },
      };
      this.pods.set(name, pod);
      this.changed('ADDED', pod);
      json(201, pod);
      if (this.autoRun) setImmediate(() => this.run(name));
      return;
    }
    if (path === `${base}/pods` && req.method === 'GET') {
      const selector = parseSelector(query.labelSelector ?? '');
      if (query.watch === 'true') {
        // The API server answers a watch at once, before any event.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        const from = Number(query.resourceVersion ?? this.revision);
        if (from < this.oldestKept) {
          const status = {
            kind: 'Status',
            code: 410,
            reason: 'Expired',
            message: `too old resource version: ${from}`,
          };
          res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
          return;
        }
        for (const event of this.history) {
          if (event.revision > from && matches(event.object, selector))
            res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
        }
        const watcher = { res, selector };
        this.watchers.add(watcher);
        res.on('close', () => this.watchers.delete(watcher));
        return;
      }
      const items = [...this.pods.values()].filter((pod) => matches(pod, selector));
      return json(200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.revision) },
        items,
      });
    }
    const ephemeral = new RegExp(`^${base}/pods/([^/]+)/ephemeralcontainers$`).exec(path);
    if (ephemeral && req.method === 'PATCH') {
      const answer = this.addEphemeral(ephemeral[1] ?? '', body, String(req.headers['content-type']));
      return json(answer.status, answer.body);
    }
    const podPath = new RegExp(`^${base}/pods/([^/]+)(/log)?$`).exec(path);
    if (podPath) {
      const [, name = '', log] = podPath;
      const pod = this.pods.get(name);
      if (!pod) return notFound(`pods "${name}"`);
      if (log && req.method === 'GET' && query.container && query.container !== 'instance') {
        const logged = this.containerLogs.get(`${name}/${query.container}`);
        if (logged === undefined) return notFound(`container "${query.container}" in pod "${name}"`);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(logged);
        return;
      }
      if (log && req.method === 'GET') {
        const lines = this.logs.get(name) ?? [];
        const tail = query.tailLines ? lines.slice(-Number(query.tailLines)) : lines;
        const shown =
          query.timestamps === 'true' ? tail : tail.map((line) => line.slice(line.indexOf(' ') + 1));
        if (query.follow !== 'true') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end(shown.join(''));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (const line of shown) res.write(line);
        const set = this.followers.get(name) ?? new Set();
        set.add(res);
        this.followers.set(name, set);
        return;
      }
      if (req.method === 'GET') return json(200, pod);
      if (req.method === 'DELETE') {
        pod.metadata.deletionTimestamp = new Date().toISOString();
        json(200, pod);
        if (this.held.has(name)) return;
        setImmediate(() => {
          this.exit(name, 143);
          this.pods.delete(name);
          this.changed('DELETED', pod);
        });
        return;
      }
    }
    notFound(`${req.method} ${path}`);
  }
}

function parseSelector(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((term) => term.split('=') as [string, string]),
  );
}

function matches(pod: Pod, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([name, value]) => pod.metadata?.labels?.[name] === value);
}
