import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../common/index.js';
import { EngineError } from '../engines/index.js';
import { FakeKubernetesApi } from '../engines/kubernetes/fake-api-server.test-support.js';
import { herdHome } from '../herd-home.js';
import { lockHome } from '../home/index.js';
import type { Digest } from '../oci/index.js';
import { type FleetHome, fleetHome, fleetTemplate, service } from '../pipeline/fleet-home.test-support.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';

// The control plane's real wiring, with HERD_KUBECONFIG naming a kubeconfig of the fake API server
// (src/engines/kubernetes/): a rollout makes its pods through that API, and no podman is started.

const secretValue = 'kube-secret-91c2e7';

describe('the control plane on a Kubernetes cluster (HERD_KUBECONFIG)', () => {
  let api: FakeKubernetesApi;
  let h: FleetHome;
  let plane: ControlPlane | undefined;
  let digest: Digest;
  let kubeconfig: string;

  before(async () => {
    api = new FakeKubernetesApi('herd');
    const server = await api.start();
    api.admit();
    h = await fleetHome();
    digest = await h.admissibleImage('v1');
    h.db.close();
    kubeconfig = join(h.home.root, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        // client-node sends plain HTTP only when told not to verify TLS; the fake serves on loopback.
        `- {name: fake, cluster: {server: "${server}", insecure-skip-tls-verify: true}}`,
        'users:',
        '- {name: herd-controller, user: {token: test-token}}',
        'contexts:',
        '- {name: herd, context: {cluster: fake, user: herd-controller}}',
        'current-context: herd',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await plane?.close();
    await api.close();
    await rm(h.home.root, { recursive: true, force: true });
  });

  it('rolls a fleet out as pods made through the API, their secrets in Secrets, with no podman started', async () => {
    const home = herdHome({ HERD_HOME: h.home.root });
    plane = await startControlPlane({
      home,
      lock: await lockHome(home, { command: 'test' }),
      port: 0,
      log: silentLogger,
      environment: { HERD_KUBECONFIG: kubeconfig, API_TOKEN: secretValue },
    });

    await plane.rollout(service, digest, {
      template: { ...fleetTemplate, fromEnvironment: ['API_TOKEN'] },
    });
    const deadline = Date.now() + 10_000;
    while (api.secrets.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const posts = api.requests.filter(
      (request) => request.method === 'POST' && request.path.endsWith('/pods'),
    );
    assert.ok(posts.length >= 2, `two pods of the fleet made, got ${posts.length}`);
    const registry = new URL(plane.url).host;
    for (const post of posts) {
      const pod = post.body as { spec: { containers: { image: string }[] } };
      assert.equal(pod.spec.containers[0]?.image, `${registry}/${service}@${digest}`);
      assert.ok(!JSON.stringify(pod).includes(secretValue), 'no secret value in a pod');
    }
    assert.deepEqual(api.configMap?.data, { [digest.replace(':', '-')]: digest }, 'the digest admitted');
    const secrets = [...api.secrets.values()];
    assert.ok(secrets.length >= 2);
    for (const secret of secrets) assert.equal(secret.stringData.API_TOKEN, secretValue);
    assert.equal(existsSync(join(h.home.root, 'engine')), false, 'no podman service was started');
  });

  it('refuses to start with both HERD_SWARM_MANAGER and HERD_KUBECONFIG, naming both, and leaves the home unlocked', async () => {
    const home = herdHome({ HERD_HOME: await mkdtemp(join(tmpdir(), 'herd-two-engines-')) });

    await assert.rejects(
      startControlPlane({
        home,
        lock: await lockHome(home, { command: 'test' }),
        port: 0,
        log: silentLogger,
        environment: { HERD_KUBECONFIG: kubeconfig, HERD_SWARM_MANAGER: '/run/docker.sock' },
      }),
      (error: unknown) =>
        error instanceof EngineError &&
        error.code === 'SETTINGS' &&
        /HERD_SWARM_MANAGER and HERD_KUBECONFIG/.test(error.message),
    );
    const again = await lockHome(home, { command: 'test', timeoutMs: 1000 });
    await again.release();
    await rm(home.root, { recursive: true, force: true });
  });
});
