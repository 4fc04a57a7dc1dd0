/**
 * The drift probe as an ephemeral container of an instance's pod: pure. It runs herd's probe image
 * (probe/herd.yaml) by digest, targets the workload container, and is as restricted as the
 * workload itself (its uid and gid, runAsNonRoot, every capability dropped, no privilege
 * escalation, a read-only root, seccomp RuntimeDefault), so the pod still meets Pod Security
 * `restricted` and the admission policy's digest check (admission-objects.ts) with the probe's
 * digest admitted. The pod shares one process namespace (pod-template.ts), where the probe reads the
 * workload's root through /proc/<pid>/root: the same uid needs no capability for that.
 *
 * An ephemeral container cannot be removed: each probe stays in the pod's spec and status. Hence
 * the unique names (`herd-drift-<n>`) and the bound on how many one pod gets (kubernetes-engine.ts,
 * `driftProbe`; docs/engines.md says why).
 * API: https://kubernetes.io/docs/concepts/workloads/pods/ephemeral-containers/
 */
import type { V1EphemeralContainer, V1Pod } from '@kubernetes/client-node';
import type { FileManifestEntry } from '../../oci/index.js';
import { EngineError } from '../engine.js';
import { instanceContainerName, restrictedSecurityContext } from './pod-template.js';

/** The name prefix of herd's probes in a pod's `spec.ephemeralContainers`. */
export const driftProbePrefix = 'herd-drift-';

/**
 * What the kubelet mounts into every container, besides the pod's volumes: the kernel's
 * filesystems, /dev and its termination log, and the files it writes for the pod's network.
 */
export const kubeletMountPoints = [
  '/proc',
  '/sys',
  '/dev',
  '/dev/shm',
  '/dev/termination-log',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
] as const;

/** The probe image: a digest herd built, signed and admitted, and where the nodes pull it. */
export interface DriftProbeImage {
  digest: `sha256:${string}`;
  /** `<repository>@<digest>` as the nodes pull it. */
  imageRef: string;
}

/** The probes herd already added to `pod`, by name. */
export function probeNamesOf(pod: V1Pod): string[] {
  return (pod.spec?.ephemeralContainers ?? [])
    .map((container) => container.name)
    .filter((name) => name.startsWith(driftProbePrefix));
}

/** `herd-drift-<n>`, one past the highest n in the pod: unique, since none is ever removed. */
export function nextProbeName(pod: V1Pod): string {
  const numbers = probeNamesOf(pod).map((name) => Number(name.slice(driftProbePrefix.length)));
  const highest = Math.max(0, ...numbers.filter((n) => Number.isSafeInteger(n)));
  return `${driftProbePrefix}${highest + 1}`;
}

/** The paths the probe does not walk: the workload container's mounts and the kubelet's. */
export function probeSkipsOf(pod: V1Pod): string[] {
  const workload = workloadOf(pod);
  const mounts = (workload.volumeMounts ?? []).map((mount) => mount.mountPath.replace(/\/+$/, '') || '/');
  return [...new Set([...kubeletMountPoints, ...mounts])].sort();
}

/**
 * Regular files of the image that tell the workload's root from the probe's and the pause
 * container's: the first few by path outside the skipped mounts (a root holding any of them is the
 * workload's, so one file deleted does not hide the workload).
 */
export function markerFilesOf(image: readonly FileManifestEntry[], skips: readonly string[]): string[] {
  const markers = image
    .filter(
      (entry) =>
        entry.type === 'file' &&
        !skips.some((skip) => entry.path === skip || entry.path.startsWith(`${skip}/`)),
    )
    .map((entry) => entry.path)
    .sort()
    .slice(0, 8);
  if (markers.length === 0) {
    throw new EngineError(
      'OTHER',
      'the image lists no regular file: expected at least one to find its process by',
    );
  }
  return markers;
}

/** Pure: the ephemeral container of one probe into `pod`. */
export function driftProbeContainer(
  pod: V1Pod,
  options: { name: string; image: DriftProbeImage; markers: readonly string[]; skips: readonly string[] },
): V1EphemeralContainer {
  const workload = workloadOf(pod);
  const context = workload.securityContext ?? {};
  const uid = context.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  const gid = context.runAsGroup ?? pod.spec?.securityContext?.runAsGroup;
  if (uid === undefined || gid === undefined || uid === 0) {
    throw new EngineError(
      'OTHER',
      `pod ${pod.metadata?.name} runs its workload as uid ${uid} gid ${gid}: expected a numeric non-root user, as herd's pods have`,
    );
  }
  if (!options.image.imageRef.endsWith(`@${options.image.digest}`)) {
    throw new EngineError(
      'IMAGE',
      `the drift probe image ${options.image.imageRef} is not pinned to ${options.image.digest}: expected <repository>@${options.image.digest}`,
    );
  }
  return {
    name: options.name,
    image: options.image.imageRef,
    imagePullPolicy: 'IfNotPresent',
    targetContainerName: instanceContainerName,
    args: [
      ...options.markers.flatMap((path) => ['--has', path]),
      ...options.skips.flatMap((path) => ['--skip', path]),
    ],
    // The log is the probe's answer: nothing else may go there.
    terminationMessagePolicy: 'File',
    stdin: false,
    tty: false,
    securityContext: restrictedSecurityContext({ uid, gid }, { readOnlyRoot: true }),
  };
}

function workloadOf(pod: V1Pod) {
  const workload = pod.spec?.containers.find((container) => container.name === instanceContainerName);
  if (!workload) {
    throw new EngineError(
      'NOT_FOUND',
      `pod ${pod.metadata?.name} has no container ${instanceContainerName}: expected a pod herd made`,
    );
  }
  return workload;
}
