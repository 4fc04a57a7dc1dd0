/**
 * KubernetesEngine on a real cluster: the Engine contract, as DockerEngine passes it on podman.
 * Not part of `npm test` (no cluster can be made on the machines herd is tested on): run it with
 * `npm run test:kubernetes`, which refuses to start without a cluster (scripts/test-kubernetes.ts
 * and docs/engines.md say what to give it).
 *
 * It prepares a namespace of its own with herd's objects (the restricted Pod Security profile, the
 * tokenless workload account, the ConfigMap of admitted digests and the ValidatingAdmissionPolicy
 * that reads it), serves the probe images from herd's /v2/ on this machine for the nodes to pull,
 * runs the contract with what Kubernetes' API cannot do declared (filesystem, processes, debug
 * exec, exec events: the engine must say UNSUPPORTED), then deletes the namespace and the policy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceSpec } from '../../src/engines/engine.js';
import { describeEngineContract } from '../../src/engines/engine-contract.js';
import {
  admissionPolicyFor,
  admittedDigestsConfigMap,
} from '../../src/engines/kubernetes/admission-objects.js';
import { namespaceFor, workloadAccountFor } from '../../src/engines/kubernetes/controller-rbac.js';
import { KubernetesEngine } from '../../src/engines/kubernetes/kubernetes-engine.js';
import { LayoutStore } from '../../src/oci/layout-store.js';
import { createApp } from '../../src/server/app.js';
import { startServer } from '../../src/server/node-server.js';
import { probeListeningText, probePort, probeUser, writeProbeImages } from '../support/probe-image.js';

const kubeconfig = process.env.HERD_KUBECONFIG ?? '';
const pullFrom = process.env.HERD_KUBERNETES_PULL_FROM ?? '';
const registryPort = Number(process.env.HERD_KUBERNETES_REGISTRY_PORT ?? '5080');
const namespace = process.env.HERD_KUBERNETES_NAMESPACE ?? `herd-contract-${process.pid}`;

if (!kubeconfig || !pullFrom) {
  throw new Error(
    'test/kubernetes-cluster needs a cluster: HERD_KUBECONFIG (a kubeconfig file) and HERD_KUBERNETES_PULL_FROM (host:port at which the nodes reach this machine) are required; run it through npm run test:kubernetes',
  );
}

function kubectl(args: string[], options: { allowFailure?: boolean } = {}): string {
  const result = spawnSync('kubectl', ['--kubeconfig', kubeconfig, '--namespace', namespace, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw new Error(`kubectl did not run: ${result.error.message}; install kubectl`);
  if (result.status !== 0 && !options.allowFailure)
    throw new Error(`kubectl ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describeEngineContract('KubernetesEngine on a cluster', async () => {
  const work = await mkdtemp(join(tmpdir(), 'herd-kubernetes-contract-'));
  const store = new LayoutStore(join(work, 'store'));
  await store.init();
  const images = await writeProbeImages(store);
  // The nodes pull from herd's /v2/ here, over plain HTTP: HERD_KUBERNETES_PULL_FROM must be a
  // registry the nodes' container runtime is configured to reach without TLS.
  const server = await startServer({ app: createApp({ store }), port: registryPort, host: '0.0.0.0' });
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfig);
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const [policy, binding] = admissionPolicyFor(namespace);
  const prepared = [
    namespaceFor(namespace),
    workloadAccountFor(namespace),
    admittedDigestsConfigMap(namespace, []),
    policy,
    binding,
  ];
  for (const object of prepared) await objects.create(object as never);
  const engine = await KubernetesEngine.connect({ namespace, kubeconfig, pullFrom });

  const specFor = (overrides: Partial<InstanceSpec> & { service: string }): InstanceSpec => {
    const digest = overrides.digest ?? images.probe;
    return {
      revision: 'r1',
      digest,
      imageRef: `127.0.0.1:${registryPort}/${overrides.service}@${digest}`,
      user: probeUser,
      env: { GREETING: 'hello from the test' },
      writable: ['/tmp'],
      port: probePort,
      resources: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
      stopGraceSeconds: 5,
      ...overrides,
    };
  };
  const notUsed = (what: string) => async (): Promise<never> => {
    throw new Error(`${what} is not used on an engine that lacks it`);
  };

  return {
    engine,
    spec: specFor,
    exitingSpec: (overrides) => specFor({ digest: images.exiting, ...overrides }),
    logText: probeListeningText,
    imageFile: 'probe-server',
    alter: notUsed('alter'),
    dropInTmp: notUsed('dropInTmp'),
    // With the test's own credentials, not herd's role (which has no pods/exec).
    async exec(id) {
      kubectl(['exec', id, '--', '/probe-server'], { allowFailure: true });
    },
    workloadExecutable: '/probe-server',
    startStray: notUsed('startStray'),
    debugCommand: ['/probe-server', 'echo'],
    patienceMs: 60_000,
    acceptsAddressHost: (host) => isIP(host) !== 0,
    // No drift probe image here (building it needs Debian's nodejs from the archive): `changes` says
    // UNSUPPORTED. The probe runs for real in test/drift-probe.test.ts, on podman.
    unsupported: ['filesystem-changes', 'filesystem', 'processes', 'debug-exec', 'exec-events'],
    async teardown() {
      for (const object of [binding, policy]) await objects.delete(object as never).catch(() => undefined);
      kubectl(['delete', 'namespace', namespace, '--wait=false'], { allowFailure: true });
      await server.close();
      await rm(work, { recursive: true, force: true });
    },
  };
});
