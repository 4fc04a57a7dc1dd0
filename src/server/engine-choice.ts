/**
 * Which engine the control plane drives, from herd's environment: pure, read once when the control
 * plane starts, so a wrong setting stops `herd serve` at once rather than at the first rollout.
 *
 * - `HERD_KUBECONFIG` (with `HERD_KUBERNETES_NAMESPACE`, `HERD_KUBERNETES_PULL_FROM`): a Kubernetes
 *   cluster, one pod per instance (src/engines/kubernetes/kubernetes-settings.ts);
 * - `HERD_SWARM_MANAGER` (with `HERD_SWARM_NODES`): a Docker Swarm;
 * - neither: podman on this machine, found or started.
 *
 * Both set is an error naming both (kubernetesSettingsFrom says so).
 */
import {
  EngineError,
  type KubernetesSettings,
  kubernetesSettingsFrom,
  type SwarmEngineOptions,
  swarmSettingsFrom,
} from '../engines/index.js';

export type EngineChoice =
  | { kind: 'podman' }
  | { kind: 'swarm'; settings: Pick<SwarmEngineOptions, 'managerSocket' | 'nodeSockets'> }
  | { kind: 'kubernetes'; settings: KubernetesSettings };

export function engineChoiceFrom(
  env: Readonly<Record<string, string | undefined>>,
  options: { v2Auth?: 'none' | 'token' } = {},
): EngineChoice {
  const kubernetes = kubernetesSettingsFrom(env);
  if (kubernetes) {
    // A node's container runtime pulls with no credential of herd's: a /v2/ that wants a token
    // refuses every pull, and each pod would wait in ImagePullBackOff.
    if (options.v2Auth === 'token' && !kubernetes.pullFrom) {
      throw new EngineError(
        'SETTINGS',
        "--v2-auth token with HERD_KUBECONFIG: the cluster's nodes would pull from herd's /v2/ with no token; expected --v2-auth none, or HERD_KUBERNETES_PULL_FROM naming a registry the nodes may pull from",
      );
    }
    return { kind: 'kubernetes', settings: kubernetes };
  }
  const swarm = swarmSettingsFrom(env);
  return swarm ? { kind: 'swarm', settings: swarm } : { kind: 'podman' };
}

/** One line for the log: which engine, and where its instances' images come from. */
export function describeEngineChoice(choice: EngineChoice, registry: string): string {
  switch (choice.kind) {
    case 'kubernetes':
      return `engine: kubernetes, namespace ${choice.settings.namespace} of the cluster in ${choice.settings.kubeconfig}; nodes pull from ${choice.settings.pullFrom ?? registry}`;
    case 'swarm':
      return `engine: the swarm at ${choice.settings.managerSocket}; nodes pull from ${registry}`;
    case 'podman':
      return 'engine: podman on this machine, started with the first fleet';
  }
}
