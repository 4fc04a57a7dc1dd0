import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { EngineError, type InstanceSpec, instanceLabels } from '../engine.js';
import { FakeKubernetesApi } from './fake-api-server.test-support.js';
import { instanceSecretFor } from './instance-secret.js';
import { KubernetesEngine } from './kubernetes-engine.js';

// An instance's environment travels in a Secret the pod owns, never in the pod's spec: what herd
// sends, on the fake API server (no kubelet, no garbage collector: kubernetes-engine.test.ts says why).

const digest = `sha256:${'d'.repeat(64)}` as const;
const secretValue = 'hunter2-7f3a9c';

function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'hello',
    revision: 'dddddddd',
    digest,
    imageRef: `127.0.0.1:5001/hello@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: { GREETING: 'hi', API_TOKEN: secretValue },
    writable: [],
    port: 8080,
    resources: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 250_000_000, pids: 64 },
    stopGraceSeconds: 1,
    ...overrides,
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

describe("KubernetesEngine: an instance's environment as a Secret its pod owns", () => {
  let api: FakeKubernetesApi;
  let engine: KubernetesEngine;

  before(async () => {
    api = new FakeKubernetesApi('herd');
    const server = await api.start();
    engine = await KubernetesEngine.connect({
      namespace: 'herd',
      cluster: { server, token: 'test-token', skipTLSVerify: true },
      pollMs: 10,
      startTimeoutMs: 2000,
    });
  });

  after(async () => {
    await api.close();
  });

  beforeEach(async () => {
    api.requests.length = 0;
    api.pods.clear();
    api.secrets.clear();
    api.autoRun = true;
    api.secretsRefused = false;
    api.podNamesTaken = 0;
    api.admit(digest);
  });

  it('sends a pod that holds no value of the environment, each read from the Secret named after the pod', async () => {
    const instance = await engine.create(spec());

    const pod = api.requests.find((request) => request.method === 'POST' && request.path.endsWith('/pods'))
      ?.body as V1Pod;
    assert.ok(pod, 'a pod was sent');
    const sent = JSON.stringify(pod);
    assert.ok(!sent.includes(secretValue), 'the secret value is nowhere in the pod sent');
    assert.ok(!sent.includes('"hi"'), 'nor is any other value of the environment');
    assert.deepEqual(pod.spec?.containers[0]?.env, [
      { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: `${instance.id}-env`, key: 'API_TOKEN' } } },
      { name: 'GREETING', valueFrom: { secretKeyRef: { name: `${instance.id}-env`, key: 'GREETING' } } },
    ]);
    assert.ok(!JSON.stringify(api.pods.get(instance.id)).includes(secretValue), 'nor in the pod as stored');
  });

  it('makes the Secret after the pod, owned by it by uid, so the garbage collector removes it with the pod', async () => {
    const instance = await engine.create(spec());

    const posts = api.requests.filter((request) => request.method === 'POST').map((request) => request.path);
    assert.deepEqual(posts, ['/api/v1/namespaces/herd/pods', '/api/v1/namespaces/herd/secrets']);
    const secret = api.secrets.get(`${instance.id}-env`) as V1Secret;
    assert.deepEqual(secret.stringData, { GREETING: 'hi', API_TOKEN: secretValue });
    assert.equal(secret.immutable, true);
    assert.deepEqual(secret.metadata?.ownerReferences, [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        name: instance.id,
        uid: api.pods.get(instance.id)?.metadata.uid,
        controller: true,
      },
    ]);
    assert.equal(secret.metadata?.labels?.[instanceLabels.managedBy], 'herd');
    assert.equal(secret.metadata?.labels?.[instanceLabels.service], 'hello');
  });

  it('sends a Secret and a pod that validate against the Kubernetes OpenAPI schema', async () => {
    const instance = await engine.create(spec());

    const sent = api.requests.filter((request) => request.method === 'POST').map((request) => request.body);
    new Pod(sent[0] as never).validate();
    new Secret(sent[1] as never).validate();
    new Secret(
      instanceSecretFor(
        { name: instance.id, uid: 'u', namespace: 'herd', service: 'hello' },
        spec().env,
      ) as never,
    ).validate();
  });

  it('names the pod again when its name is taken, and its Secret after the name the pod got', async () => {
    api.podNamesTaken = 1;

    const instance = await engine.create(spec());

    const [refused, taken] = api.requests
      .filter((request) => request.method === 'POST' && request.path.endsWith('/pods'))
      .map((request) => (request.body as V1Pod).metadata?.name);
    assert.ok(refused && taken && refused !== taken, 'a second name after the 409');
    assert.equal(instance.id, taken);
    assert.ok(api.secrets.has(`${taken}-env`));
    assert.ok(!api.secrets.has(`${refused}-env`));
  });

  it('deletes the Secret when the instance is removed', async () => {
    const instance = await engine.create(spec());

    await engine.remove(instance.id);

    assert.equal(api.secrets.size, 0);
    assert.ok(
      api.requests.some(
        (request) =>
          request.method === 'DELETE' &&
          request.path === `/api/v1/namespaces/herd/secrets/${instance.id}-env`,
      ),
    );
  });

  it('removes an instance whose Secret the garbage collector already took', async () => {
    const instance = await engine.create(spec());
    api.secrets.clear();

    await engine.remove(instance.id);

    assert.equal(api.pods.has(instance.id), false);
  });

  it('makes no Secret for an instance without environment, and deletes none when it goes', async () => {
    const instance = await engine.create(spec({ env: {} }));
    await engine.remove(instance.id);

    assert.ok(!api.requests.some((request) => request.path.includes('/secrets')));
  });

  it('never deletes a Secret a pod names other than its own, even in a pod labelled as herd', async () => {
    const instance = await engine.create(spec({ env: {} }));
    const pod = api.pods.get(instance.id);
    pod!.spec.containers[0].env = [
      { name: 'DB', valueFrom: { secretKeyRef: { name: 'database-password', key: 'DB' } } },
    ];
    api.secrets.set('database-password', { metadata: { name: 'database-password' } });

    await engine.remove(instance.id);

    assert.ok(api.secrets.has('database-password'));
    assert.ok(
      !api.requests.some((request) => request.method === 'DELETE' && request.path.includes('/secrets')),
    );
  });

  it('waits while the kubelet looked for the Secret before herd made it, then starts', async () => {
    api.autoRun = false;

    const creating = engine.create(spec());
    const name = await eventually(() => (api.secrets.size > 0 ? [...api.pods.keys()][0] : undefined));
    api.setWaiting(name, 'CreateContainerConfigError', `secret "${name}-env" not found`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    api.run(name);

    assert.equal((await creating).state, 'running');
  });

  it('fails a create whose pod waits for another Secret, which herd never makes', async () => {
    api.autoRun = false;

    const creating = engine.create(spec());
    const name = await eventually(() => (api.secrets.size > 0 ? [...api.pods.keys()][0] : undefined));
    api.setWaiting(name, 'CreateContainerConfigError', 'secret "database-password" not found');

    await assert.rejects(
      creating,
      (error: unknown) => error instanceof EngineError && error.code === 'CREATE',
    );
  });

  it('removes the pod when the Secret cannot be made (a role without secrets: create), naming the Secret', async () => {
    api.secretsRefused = true;

    await assert.rejects(engine.create(spec()), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'CREATE');
      assert.match(
        error.message,
        /^creating secret hello-dddddddd-[a-z0-9]{5}-env of pod hello-dddddddd-[a-z0-9]{5} in namespace herd: the API server answered 403/,
      );
      return true;
    });
    await eventually(() => (api.pods.size === 0 ? true : undefined));
  });
});
