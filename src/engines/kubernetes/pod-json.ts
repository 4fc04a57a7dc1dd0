/**
 * A pod as the API server answers it (the untrusted edge), read into an `Instance`: pure. A pod
 * without herd's labels, or whose annotation disagrees with its labels, is not herd's and reads as
 * undefined. Times come as Date (client-node parses them) or RFC 3339 text.
 * https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
 */
import type { V1Pod } from '@kubernetes/client-node';
import { type Instance, type InstanceState, instanceLabels, revisionFromLabels } from '../engine.js';
import { herdLabelsOf } from './pod-labels.js';
import { instanceContainerName } from './pod-template.js';

const digestPattern = /^sha256:[0-9a-f]{64}$/;

export function instanceFromPod(pod: V1Pod): Instance | undefined {
  const name = pod.metadata?.name;
  const labels = herdLabelsOf(pod.metadata ?? {});
  if (!name || !labels || labels[instanceLabels.managedBy] !== 'herd') return undefined;
  const service = labels[instanceLabels.service];
  const labelled = labels[instanceLabels.digest];
  if (!service || !revisionFromLabels(labels) || !labelled || !digestPattern.test(labelled)) return undefined;
  // What runs is the container's image, whatever the annotation says: a pod whose image was set to
  // another (admitted) digest after herd made it reads as that digest's revision, which the
  // controller then replaces, never as the revision it claims.
  const image = pod.spec?.containers.find((one) => one.name === instanceContainerName)?.image ?? '';
  const running = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
  const digest = running ?? labelled;
  const revision = digest === labelled ? revisionFromLabels(labels) : digest.slice('sha256:'.length, 15);
  const { state, exitCode } = stateOf(pod);
  const container = pod.status?.containerStatuses?.find((status) => status.name === instanceContainerName);
  const port = pod.spec?.containers.find((one) => one.name === instanceContainerName)?.ports?.[0]
    ?.containerPort;
  const podIP = pod.status?.podIP;
  const startedAt = epochMs(container?.state?.running?.startedAt ?? container?.state?.terminated?.startedAt);
  return {
    id: name,
    service,
    revision: revision ?? '',
    digest: digest as `sha256:${string}`,
    state,
    ...(exitCode !== undefined ? { exitCode } : {}),
    // herd reaches a pod at its own IP: the control plane runs where pod IPs route (in the cluster).
    ...(state === 'running' && podIP && port !== undefined ? { address: { host: podIP, port } } : {}),
    createdAt: epochMs(pod.metadata?.creationTimestamp) ?? 0,
    ...(startedAt !== undefined ? { startedAt } : {}),
    labels,
  };
}

/** The instance's state from the pod's phase and its container's state. */
export function stateOf(pod: V1Pod): { state: InstanceState; exitCode?: number } {
  const container = pod.status?.containerStatuses?.find((status) => status.name === instanceContainerName);
  const terminated = container?.state?.terminated;
  if (terminated) return { state: 'exited', exitCode: terminated.exitCode };
  if (pod.metadata?.deletionTimestamp) return { state: 'removing' };
  switch (pod.status?.phase) {
    case 'Pending':
      return { state: 'created' };
    case 'Running':
      return { state: container?.state?.running ? 'running' : 'created' };
    case 'Succeeded':
      return { state: 'exited', exitCode: 0 };
    case 'Failed':
      return { state: 'exited', exitCode: 1 };
    default:
      return { state: 'unknown' };
  }
}

/**
 * Why a pod that is not running will not start, when the kubelet says so: the image cannot be
 * pulled, or the container cannot be made. Undefined while it may still start.
 */
export function startFailureOf(pod: V1Pod): { code: 'IMAGE' | 'CREATE'; reason: string } | undefined {
  const waiting = pod.status?.containerStatuses?.find((status) => status.name === instanceContainerName)
    ?.state?.waiting;
  const reason = waiting?.reason ?? '';
  const detail = waiting?.message ? `${reason}: ${waiting.message}` : reason;
  if (['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull'].includes(reason))
    return { code: 'IMAGE', reason: detail };
  if (['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError'].includes(reason))
    return { code: 'CREATE', reason: detail };
  return undefined;
}

function epochMs(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
