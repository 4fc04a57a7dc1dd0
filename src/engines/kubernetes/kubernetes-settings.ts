/**
 * Which Kubernetes cluster the control plane drives, from herd's environment:
 *
 * - `HERD_KUBECONFIG`: the kubeconfig file (its current context: the cluster and the credentials,
 *   which should be herd-controller's, the role `herd render kubernetes` prints);
 * - `HERD_KUBERNETES_NAMESPACE`: the namespace those objects prepared; `herd` by default;
 * - `HERD_KUBERNETES_PULL_FROM`: where the nodes reach herd's /v2/ (`registry.example:5000`), in
 *   place of the address herd serves on; unset, the nodes pull from that address (`--host`);
 * - `HERD_KUBERNETES_DRIFT_PROBE`: the digest of herd's drift probe image in herd's store (built,
 *   signed and released from src/engines/kubernetes/probe); unset, no drift watch on the cluster.
 *
 * Unset HERD_KUBECONFIG: no cluster. With HERD_SWARM_MANAGER too it is an error naming both: herd
 * drives one engine, and guessing which one would put the fleet somewhere nobody meant.
 * `kubernetesSettingsFrom` is pure; `checkKubeconfig` reads the file, so a missing or unreadable
 * one fails at the start naming the path, not at the first pod.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { EngineError } from '../engine.js';
import type { KubernetesEngineOptions } from './kubernetes-engine.js';

export const defaultKubernetesNamespace = 'herd';

export type KubernetesSettings = Required<Pick<KubernetesEngineOptions, 'namespace' | 'kubeconfig'>> &
  Pick<KubernetesEngineOptions, 'pullFrom'> & { driftProbeDigest?: `sha256:${string}` };

// A namespace is a DNS label (RFC 1123): https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// host[:port][/path]: what replaces the host of an image reference; no scheme, no tag, no digest.
const registryLocation = /^[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[a-z0-9._-]+)*\/?$/;

export function kubernetesSettingsFrom(
  env: Readonly<Record<string, string | undefined>>,
): KubernetesSettings | undefined {
  const kubeconfig = env.HERD_KUBECONFIG?.trim();
  if (!kubeconfig) {
    const stray = [
      'HERD_KUBERNETES_NAMESPACE',
      'HERD_KUBERNETES_PULL_FROM',
      'HERD_KUBERNETES_DRIFT_PROBE',
    ].filter((name) => env[name]?.trim());
    if (stray.length > 0) {
      throw new EngineError(
        'SETTINGS',
        `${stray.join(' and ')} ${stray.length > 1 ? 'are' : 'is'} set without HERD_KUBECONFIG: expected HERD_KUBECONFIG too, or neither`,
      );
    }
    return undefined;
  }
  if (env.HERD_SWARM_MANAGER?.trim()) {
    throw new EngineError(
      'SETTINGS',
      'both HERD_SWARM_MANAGER and HERD_KUBECONFIG are set: expected one engine, unset one of them',
    );
  }
  if (!isAbsolute(kubeconfig)) {
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBECONFIG ${JSON.stringify(kubeconfig.slice(0, 200))}: expected an absolute path of a kubeconfig file`,
    );
  }
  const namespace = env.HERD_KUBERNETES_NAMESPACE?.trim() || defaultKubernetesNamespace;
  if (!dnsLabel.test(namespace)) {
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBERNETES_NAMESPACE ${JSON.stringify(namespace.slice(0, 200))}: expected a namespace name (lowercase letters, digits and '-', at most 63)`,
    );
  }
  const pullFrom = env.HERD_KUBERNETES_PULL_FROM?.trim();
  if (pullFrom !== undefined && pullFrom !== '' && !registryLocation.test(pullFrom)) {
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBERNETES_PULL_FROM ${JSON.stringify(pullFrom.slice(0, 200))}: expected host:port[/path] at which the nodes reach herd's /v2/, such as registry.example:5000, with no scheme`,
    );
  }
  const driftProbe = env.HERD_KUBERNETES_DRIFT_PROBE?.trim();
  if (driftProbe && !/^sha256:[0-9a-f]{64}$/.test(driftProbe)) {
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBERNETES_DRIFT_PROBE ${JSON.stringify(driftProbe.slice(0, 200))}: expected the sha256:<64 hex> digest of herd's drift probe image`,
    );
  }
  return {
    kubeconfig,
    namespace,
    ...(pullFrom ? { pullFrom } : {}),
    ...(driftProbe ? { driftProbeDigest: driftProbe as `sha256:${string}` } : {}),
  };
}

/** Reads the kubeconfig once, so a missing or unreadable file fails now, naming its path. */
export async function checkKubeconfig(path: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'a directory'
            : String(code ?? error);
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBECONFIG ${path} cannot be read (${why}): expected a kubeconfig file herd may read`,
      { cause: error },
    );
  }
  if (text.trim() === '') {
    throw new EngineError('SETTINGS', `HERD_KUBECONFIG ${path} is empty: expected a kubeconfig file`);
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (error) {
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBECONFIG ${path} is not a kubeconfig (${String(error).slice(0, 200)}): expected clusters, users and contexts as kubectl writes them`,
      { cause: error },
    );
  }
  if (!config.getCurrentCluster()) {
    throw new EngineError(
      'SETTINGS',
      `HERD_KUBECONFIG ${path} names no cluster in its current context ${JSON.stringify(config.getCurrentContext())}: expected current-context to name a context whose cluster is listed`,
    );
  }
}
