/**
 * An instance's environment as a Secret of its own, not as values in its pod: anyone who may `get
 * pods` (or reads an audit log of pod writes) reads a pod's spec, while a Secret is read only by
 * who may `get secrets`, and the kubelet. Pure.
 *
 * The Secret is made after its pod, owned by it (an ownerReference, with the pod's uid), so
 * Kubernetes' garbage collector removes it when the pod is gone, however it went (herd's remove,
 * a crash of herd's control plane between the two writes, `kubectl delete`): no herd-labelled
 * Secret outlives its instance, and herd's role needs no `list` or `get` of secrets to sweep them.
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/
 */
import type { V1Secret } from '@kubernetes/client-node';
import { instanceLabels } from '../engine.js';
import { isKubernetesLabel } from './pod-labels.js';

/** The Secret of pod `podName`: derived from the pod's name, never read from its spec. */
export function instanceSecretName(podName: string): string {
  return `${podName}-env`;
}

export function instanceSecretFor(
  pod: { name: string; uid: string; namespace: string; service: string },
  env: Readonly<Record<string, string>>,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: instanceSecretName(pod.name),
      namespace: pod.namespace,
      labels: {
        [instanceLabels.managedBy]: 'herd',
        ...(isKubernetesLabel(instanceLabels.service, pod.service)
          ? { [instanceLabels.service]: pod.service }
          : {}),
      },
      // No blockOwnerDeletion: that would need a permission on the pod's finalizers herd's role lacks.
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid, controller: true }],
    },
    type: 'Opaque',
    // Its values never change: a new environment is a new instance. The kubelet then does not watch it.
    immutable: true,
    stringData: { ...env },
  };
}
