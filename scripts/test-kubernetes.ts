/**
 * `npm run test:kubernetes`: the Engine contract on a real Kubernetes cluster
 * (test/kubernetes-cluster/). Never part of `npm test`, and never a silent skip: without a cluster it
 * exits 2 saying what to give it (docs/engines.md, "Tests that need a real cluster").
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const missing: string[] = [];
const kubeconfig = process.env.HERD_KUBECONFIG;
if (!kubeconfig) missing.push('HERD_KUBECONFIG: the kubeconfig file of the cluster to test on');
else if (!existsSync(kubeconfig)) missing.push(`HERD_KUBECONFIG: ${kubeconfig} does not exist`);
if (!process.env.HERD_KUBERNETES_PULL_FROM) {
  missing.push(
    "HERD_KUBERNETES_PULL_FROM: host:port at which the cluster's nodes reach this machine's herd registry (served on HERD_KUBERNETES_REGISTRY_PORT, 5080 by default, plain HTTP)",
  );
}
if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error) {
  missing.push('kubectl on PATH: the test execs into a pod with your credentials, as an intruder would');
}
if (missing.length > 0) {
  process.stderr.write(
    `npm run test:kubernetes needs a real cluster, and was given none:\n${missing.map((line) => `  - ${line}`).join('\n')}\nno test ran. docs/engines.md says which tests need a cluster and why.\n`,
  );
  process.exit(2);
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', 'test/kubernetes-cluster/engine-contract.cluster.ts'],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 2);
