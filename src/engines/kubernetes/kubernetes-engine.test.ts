import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EngineError, type EngineEvent, type InstanceSpec, instanceLabels, type LogLine } from '../engine.js';
import { describeEngineContract } from '../engine-contract.js';
import { FakeKubernetesApi } from './fake-api-server.test-support.js';
import { KubernetesEngine } from './kubernetes-engine.js';
import { herdLabelsAnnotation } from './pod-labels.js';

// Not a cluster: these prove the requests herd sends and how it reads the answers. The contract
// suite on a real cluster is `npm run test:kubernetes` (docs/engines.md).

const digest = `sha256:${'d'.repeat(64)}` as const;
const other = `sha256:${'e'.repeat(64)}` as const;

function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'hello',
    revision: 'dddddddd',
    digest,
    templateDigest: `sha256:${'f'.repeat(64)}`,
    imageRef: `127.0.0.1:5001/hello@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: { GREETING: 'hi', API_TOKEN: 's3cret' },
    writable: ['/tmp'],
    port: 8080,
    resources: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 250_000_000, pids: 64 },
    stopGraceSeconds: 3,
    labels: { team: 'core', [instanceLabels.service]: 'impostor' },
    ...overrides,
  };
}

function rejectsWith(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof EngineError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  };
}

async function eventually<T>(probe: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('KubernetesEngine against a fake API server on loopback', () => {
  let api: FakeKubernetesApi;
  let engine: KubernetesEngine;
  let server: string;

  before(async () => {
    api = new FakeKubernetesApi('herd');
    server = await api.start();
  });

  after(async () => {
    await api.close();
  });

  beforeEach(async () => {
    api.requests.length = 0;
    api.pods.clear();
    api.autoRun = true;
    api.admit();
    engine = await KubernetesEngine.connect({
      namespace: 'herd',
      // client-node refuses http:// unless told not to verify TLS; this server is plain HTTP on loopback.
      cluster: { server, token: 'test-token', skipTLSVerify: true },
      pullFrom: 'registry.example:5000/team',
      pollMs: 10,
      startTimeoutMs: 2000,
    });
  });

  it('names the cluster and its version', async () => {
    assert.deepEqual(await engine.info(), { name: 'kubernetes', version: 'v1.31.0-fake' });
  });

  it('creates a hardened pod pinned by digest, pulled from the cluster registry, with herd labels', async () => {
    await engine.ensureImage(spec());

    const instance = await engine.create(spec());

    const post = api.requests.find((request) => request.method === 'POST' && request.path.endsWith('/pods'));
    const pod = post?.body as import('@kubernetes/client-node').V1Pod;
    assert.equal(post?.path, '/api/v1/namespaces/herd/pods');
    assert.match(pod.metadata?.name ?? '', /^hello-dddddddd-[a-z0-9]{5}$/, 'named as generateName would');
    const [container] = pod.spec?.containers ?? [];
    assert.equal(container?.image, `registry.example:5000/team/hello@${digest}`);
    assert.deepEqual(container?.securityContext, {
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(pod.spec?.automountServiceAccountToken, false);
    assert.equal(pod.spec?.serviceAccountName, 'herd-workload');
    assert.equal(pod.spec?.restartPolicy, 'Never');
    assert.equal(pod.spec?.terminationGracePeriodSeconds, 3);
    assert.deepEqual(pod.spec?.volumes?.[0], {
      name: 'writable-0',
      emptyDir: { medium: 'Memory', sizeLimit: '64Mi' },
    });
    assert.equal(
      pod.metadata?.labels?.[instanceLabels.service],
      'hello',
      'an extra label cannot pose as the service',
    );
    assert.equal(pod.metadata?.labels?.[instanceLabels.managedBy], 'herd');
    assert.equal(
      JSON.parse(pod.metadata?.annotations?.[herdLabelsAnnotation] ?? '{}')[instanceLabels.digest],
      digest,
    );
    assert.equal(instance.state, 'running');
    assert.equal(instance.digest, digest);
    assert.equal(instance.labels.team, 'core');
    assert.deepEqual(instance.address, { host: '10.244.0.7', port: 8080 });
  });

  it('admits a digest in the ConfigMap with the resourceVersion it read, and again after a conflict', async () => {
    api.conflictsToAnswer = 1;

    await engine.ensureImage(spec());
    await engine.ensureImage(spec());

    const puts = api.requests.filter((request) => request.method === 'PUT');
    assert.equal(
      puts.length,
      2,
      'one refused with 409, one accepted; the second ensureImage changes nothing',
    );
    assert.deepEqual(api.configMap?.data, { [`sha256-${'d'.repeat(64)}`]: digest });
  });

  it('refuses to create an instance of a digest not admitted, sending no pod', async () => {
    api.admit(other);

    await assert.rejects(engine.create(spec()), rejectsWith('IMAGE'));

    assert.ok(!api.requests.some((request) => request.method === 'POST'));
  });

  it('withdraws a digest, so that an instance of it needs ensureImage again; twice is not an error', async () => {
    await engine.ensureImage(spec());

    await engine.removeImage(spec());
    await engine.removeImage(spec());

    await assert.rejects(engine.create(spec()), rejectsWith('IMAGE'));
    assert.deepEqual(api.configMap?.data, {});
  });

  it('says where to start when the namespace has no ConfigMap of admitted digests', async () => {
    api.configMap = undefined;

    await assert.rejects(engine.ensureImage(spec()), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'NOT_FOUND');
      assert.match(
        error.message,
        /herd-admitted-digests \(apply herd render kubernetes first\) in namespace herd/,
      );
      return true;
    });
  });

  it('refuses root and an image named by a tag before any request', async () => {
    await assert.rejects(engine.create(spec({ user: { uid: 0, gid: 0 } })), rejectsWith('CREATE'));
    await assert.rejects(
      engine.create(spec({ imageRef: '127.0.0.1:5001/hello:latest' })),
      rejectsWith('CREATE'),
    );

    assert.deepEqual(api.requests, []);
  });

  it('fails a create whose image the kubelet cannot pull with IMAGE, and removes the pod', async () => {
    await engine.ensureImage(spec());
    api.autoRun = false;

    const creating = engine.create(spec());
    const name = await eventually(() => [...api.pods.keys()][0]);
    api.setWaiting(name, 'ErrImagePull', 'manifest unknown');

    await assert.rejects(creating, (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'IMAGE');
      assert.match(error.message, /ErrImagePull: manifest unknown/);
      return true;
    });
    assert.ok(api.requests.some((request) => request.method === 'DELETE' && request.path.endsWith(name)));
  });

  it("lists herd's pods by service, and not a pod whose annotation disagrees with its labels", async () => {
    await engine.ensureImage(spec());
    const mine = await engine.create(spec());
    const forged = await engine.create(spec());
    const pod = api.pods.get(forged.id);
    assert.ok(pod);
    const labels = JSON.parse(pod?.metadata.annotations[herdLabelsAnnotation]);
    pod.metadata.annotations[herdLabelsAnnotation] = JSON.stringify({
      ...labels,
      [instanceLabels.service]: 'other',
    });

    const listed = await engine.list({ service: 'hello' });

    assert.deepEqual(
      listed.map((instance) => instance.id),
      [mine.id],
    );
    const get = api.requests.filter(
      (request) => request.method === 'GET' && request.path === '/api/v1/namespaces/herd/pods',
    );
    assert.equal(
      get.at(-1)?.query.labelSelector,
      `${instanceLabels.managedBy}=herd,${instanceLabels.service}=hello`,
    );
  });

  it('reads a pod whose image was set to another digest after herd made it as that digest, not the one its labels claim', async () => {
    await engine.ensureImage(spec());
    const instance = await engine.create(spec());
    const pod = api.pods.get(instance.id);
    assert.ok(pod);
    pod.spec.containers[0].image = `registry.example:5000/team/hello@${other}`;

    const [listed] = await engine.list({ service: 'hello' });

    assert.equal(listed?.digest, other);
    assert.equal(listed?.revision, 'eeeeeeee');
  });

  it('removes a pod and waits until it is gone; an unknown one is not an error', async () => {
    await engine.ensureImage(spec());
    const instance = await engine.create(spec());

    await engine.remove(instance.id);
    await engine.remove('hello-dddddddd-nope0');

    assert.equal(api.pods.has(instance.id), false);
    assert.deepEqual(await engine.list({ service: 'hello' }), []);
  });

  it('says so when a pod is still there past its grace period, naming its finalizers', async () => {
    await engine.ensureImage(spec());
    const instance = await engine.create(spec({ stopGraceSeconds: 0 }));
    const pod = api.pods.get(instance.id);
    assert.ok(pod);
    pod.metadata.finalizers = ['example.com/keep'];
    api.held.add(instance.id);
    const impatient = await KubernetesEngine.connect({
      namespace: 'herd',
      cluster: { server, skipTLSVerify: true },
      pollMs: 10,
      removeMarginMs: 100,
    });

    await assert.rejects(impatient.remove(instance.id), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'OTHER');
      assert.match(error.message, /still there after its grace period of 0 s.*example\.com\/keep/);
      return true;
    });
    api.held.delete(instance.id);
  });

  it('reports started, exited and removed from the watch, each with a cursor it replays from', async () => {
    await engine.ensureImage(spec());
    const abort = new AbortController();
    const seen: EngineEvent[] = [];
    const collecting = (async () => {
      for await (const event of engine.events(abort.signal)) seen.push(event);
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const instance = await engine.create(spec());
    await engine.remove(instance.id);
    await eventually(() => (seen.some((event) => event.kind === 'removed') ? true : undefined));
    abort.abort();
    await collecting;

    assert.deepEqual(
      seen.filter((event) => event.id === instance.id).map((event) => event.kind),
      ['started', 'exited', 'removed'],
    );
    assert.ok(seen.every((event) => event.cursor));
    const replay = new AbortController();
    const replayed: EngineEvent[] = [];
    const replaying = (async () => {
      for await (const event of engine.events(replay.signal, { since: seen[0]?.cursor }))
        replayed.push(event);
    })();
    await eventually(() => (replayed.some((event) => event.kind === 'removed') ? true : undefined));
    replay.abort();
    await replaying;
    // What came after the cursor, read afresh: the pod had run, so it may say started once more.
    assert.deepEqual(
      replayed.map((event) => event.kind).filter((kind) => kind !== 'started'),
      ['exited', 'removed'],
    );
    assert.ok(replayed.every((event) => Number(event.cursor) > Number(seen[0]?.cursor)));
  });

  it('fails the events of a cursor the API server no longer keeps, saying to list again', async () => {
    api.oldestKept = 1_000_000;
    const abort = new AbortController();

    try {
      await assert.rejects(
        (async () => {
          for await (const _event of engine.events(abort.signal, { since: '150' })) {
            // none comes
          }
        })(),
        (error: unknown) => {
          assert.ok(error instanceof EngineError && error.code === 'NOT_FOUND', String(error));
          assert.match(error.message, /from resourceVersion 150 ended: 410 .*list again/);
          return true;
        },
      );
    } finally {
      api.oldestKept = 0;
      abort.abort();
    }
  });

  it('ends the events of a signal aborted before the watch answered', async () => {
    const abort = new AbortController();
    abort.abort();
    const seen: EngineEvent[] = [];

    for await (const event of engine.events(abort.signal)) seen.push(event);

    assert.deepEqual(seen, []);
  });

  it('reads logs with a tail, and follows them with the kubelet timestamps until the container ends', async () => {
    await engine.ensureImage(spec());
    const instance = await engine.create(spec());
    const printed = new Date(Date.now() - 500);
    api.print(instance.id, 'first', printed);
    api.print(instance.id, 'second');

    const tail = await engine.logs(instance.id, { tail: 1 });
    const abort = new AbortController();
    const lines: LogLine[] = [];
    const following = (async () => {
      for await (const line of engine.followLogs(instance.id, { signal: abort.signal })) lines.push(line);
    })();
    await eventually(() => (lines.length === 2 ? true : undefined));
    api.print(instance.id, 'third');
    await eventually(() => (lines.length === 3 ? true : undefined));
    api.exit(instance.id, 0);
    await following;

    assert.equal(tail, 'second\n');
    assert.deepEqual(lines[0], { stream: 'stdout', time: printed.getTime(), text: 'first' });
    assert.deepEqual(
      lines.map((line) => line.text),
      ['first', 'second', 'third'],
    );
    const follow = api.requests.find((request) => request.query.follow === 'true');
    assert.equal(follow?.query.timestamps, 'true');
    assert.equal(follow?.query.container, 'instance');
  });

  it('ends a follow of logs at once on an abort that comes before the API server answers', async () => {
    await engine.ensureImage(spec());
    const instance = await engine.create(spec());
    const abort = new AbortController();
    const following = (async () => {
      // No line printed yet: the fake, like a kubelet with nothing to say, has sent no header.
      for await (const _line of engine.followLogs(instance.id, { signal: abort.signal })) {
      }
    })();
    await eventually(() => api.requests.find((request) => request.query.follow === 'true'));

    abort.abort();

    await Promise.race([
      following,
      new Promise((_resolve, reject) => setTimeout(() => reject(new Error('still following')), 1000)),
    ]);
  });

  it('throws UNSUPPORTED, naming what is missing, for what the API cannot read or run', async () => {
    const id = 'hello-dddddddd-abcde';

    await assert.rejects(engine.changes(id), rejectsWith('UNSUPPORTED'));
    await assert.rejects(engine.exportFilesystem(id), rejectsWith('UNSUPPORTED'));
    await assert.rejects(engine.readPath(id, '/tmp'), rejectsWith('UNSUPPORTED'));
    await assert.rejects(engine.processes(id), rejectsWith('UNSUPPORTED'));
    await assert.rejects(engine.debugExec(id), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'UNSUPPORTED');
      assert.match(error.message, /no pods\/exec or pods\/attach/);
      return true;
    });
  });

  it('says the API server is unreachable when nothing answers', async () => {
    const nowhere = await KubernetesEngine.connect({
      namespace: 'herd',
      cluster: { server: 'http://127.0.0.1:9' },
    });

    await assert.rejects(nowhere.info(), rejectsWith('UNREACHABLE'));
  });
});

// The whole contract on the same stand-in: what the engine does with what the API answers, and that
// it says UNSUPPORTED for what it lacks. No cluster: npm run test:kubernetes is the real run.
describeEngineContract('KubernetesEngine on a fake API server (not a cluster)', async () => {
  const api = new FakeKubernetesApi('herd');
  const server = await api.start();
  api.admit();
  api.startLine = 'probe listening on :8080';
  api.exitingDigests.add(other);
  // The drift probe as the fake runs it: it prints the pod's root (the image's one file, and what
  // `alter` adds). The real probe in a real pid namespace is test/drift-probe.test.ts.
  const probeServer = { path: '/probe-server', type: 'file', mode: 0o755, uid: 0, gid: 0, size: 4 };
  const probeServerHash = 'c'.repeat(64);
  api.defaultProbeRoot = [{ ...probeServer, sha256: probeServerHash }];
  const contractEngine = await KubernetesEngine.connect({
    namespace: 'herd',
    cluster: { server, skipTLSVerify: true },
    pollMs: 10,
    startTimeoutMs: 2000,
    driftProbe: {
      image: {
        digest: `sha256:${'a'.repeat(64)}`,
        imageRef: `127.0.0.1:5001/probe@sha256:${'a'.repeat(64)}`,
      },
      imageFiles: async () => [{ ...probeServer, type: 'file', sha256: probeServerHash }],
      // Every call probes: the contract asks before and after a change.
      intervalMs: 0,
    },
  });
  const contractSpec = (overrides: Partial<InstanceSpec> & { service: string }): InstanceSpec => ({
    ...spec({ labels: {} }),
    revision: 'r1',
    ...overrides,
  });
  const notUsed = async (): Promise<never> => {
    throw new Error('not used on an engine that lacks it');
  };
  return {
    engine: contractEngine,
    spec: contractSpec,
    exitingSpec: (overrides) =>
      contractSpec({ digest: other, imageRef: `127.0.0.1:5001/hello@${other}`, ...overrides }),
    logText: 'probe listening on :8080',
    imageFile: 'probe-server',
    alter: async (id) => {
      api.probeRoots.set(id, [
        ...api.defaultProbeRoot,
        {
          path: '/altered',
          type: 'file',
          mode: 0o644,
          uid: 65532,
          gid: 65532,
          size: 1,
          sha256: 'b'.repeat(64),
        },
      ]);
      return '/altered';
    },
    dropInTmp: notUsed,
    // An exec on Kubernetes reaches the API server's audit log, never a pod watch: nothing to do here.
    exec: async () => undefined,
    workloadExecutable: '/probe-server',
    startStray: notUsed,
    debugCommand: ['/probe-server', 'echo'],
    acceptsAddressHost: (host) => host === '10.244.0.7',
    unsupported: ['filesystem', 'processes', 'debug-exec', 'exec-events'],
    teardown: () => api.close(),
  };
});
