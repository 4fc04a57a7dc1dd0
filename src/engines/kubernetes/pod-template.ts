/**
 * One instance as a Kubernetes pod: pure, the same template for a pod the KubernetesEngine makes
 * and for the pods of a rendered Deployment, so both carry the same hardening
 * (docs/architecture.md, "Hardened by default"), as far as Kubernetes can say it:
 *
 * - the root read-only unless the spec opts in (`run.writableRoot`), every capability dropped,
 *   no privilege escalation (no_new_privs), seccomp RuntimeDefault, a non-root numeric user
 *   (runAsNonRoot, runAsUser, runAsGroup), no service account token, no service links;
 * - each writable path an emptyDir in memory with the tmpfs' size limit, and /dev/shm likewise;
 * - the pause container as PID 1 (shareProcessNamespace), the init that reaps and forwards signals;
 * - requests equal to limits (Guaranteed QoS), the grace period from the spec.
 *
 * What Kubernetes cannot say, docs/adr/0014 lists: an emptyDir is not mounted noexec, and there is
 * no pids limit per pod (the kubelet's podPidsLimit is per node).
 * API: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/
 */
import type {
  V1Container,
  V1EnvVar,
  V1ObjectMeta,
  V1PodSpec,
  V1Probe,
  V1SecurityContext,
  V1Volume,
} from '@kubernetes/client-node';
import { defaultShmBytes, type InstanceSpec, labelsFor } from '../engine.js';
import { refuseUnsafeSpec } from '../instance-spec-check.js';
import { kubernetesMetadataFor } from './pod-labels.js';

/** A writable path's emptyDir holds at most this, as DockerEngine's tmpfs (`size=64m`). */
export const writableSizeLimit = '64Mi';

/** The workload's container; one per pod. */
export const instanceContainerName = 'instance';

export interface PodTemplateOptions {
  /**
   * `Never` for a pod herd's controller makes: an instance is replaced, never restarted in place.
   * `Always` for a Deployment's pods, the only policy a Deployment takes.
   */
  restartPolicy: 'Never' | 'Always';
  /** The workload's own service account, which holds no token (automountServiceAccountToken false). */
  serviceAccountName: string;
  /** Names whose values come from this Secret (`secretKeyRef`), not from the pod's own spec. */
  secretEnv?: { secretName: string; names: readonly string[] };
  /** The kubelet's checks, for a Deployment; herd's controller checks its own pods from outside. */
  probes?: { readiness: V1Probe; liveness: V1Probe };
}

export interface PodTemplate {
  metadata: V1ObjectMeta;
  spec: V1PodSpec;
}

/** Pure: the pod of one instance. Refuses what every engine refuses (EngineError CREATE). */
export function podTemplateFor(spec: InstanceSpec, options: PodTemplateOptions): PodTemplate {
  refuseUnsafeSpec(spec);
  const { uid, gid } = spec.user;
  const volumes: V1Volume[] = [
    ...spec.writable.map((_path, index) => ({
      name: `writable-${index}`,
      emptyDir: { medium: 'Memory', sizeLimit: writableSizeLimit },
    })),
    {
      name: 'shm',
      emptyDir: { medium: 'Memory', sizeLimit: String(spec.resources.shmBytes ?? defaultShmBytes) },
    },
  ];
  const limits = {
    cpu: `${Math.max(1, Math.round(spec.resources.nanoCpus / 1e6))}m`,
    memory: String(spec.resources.memoryBytes),
  };
  const container: V1Container = {
    name: instanceContainerName,
    image: spec.imageRef,
    // Named by digest: the node's copy is the digest's or none; no tag can move under it.
    imagePullPolicy: 'IfNotPresent',
    env: environment(spec.env, options.secretEnv),
    ...(spec.port !== undefined
      ? { ports: [{ name: 'service', containerPort: spec.port, protocol: 'TCP' }] }
      : {}),
    resources: { limits, requests: limits },
    // The one setting a spec may loosen, and only by saying `run.writableRoot: true`.
    securityContext: restrictedSecurityContext({ uid, gid }, { readOnlyRoot: spec.writableRoot !== true }),
    volumeMounts: [
      ...spec.writable.map((path, index) => ({ name: `writable-${index}`, mountPath: path })),
      { name: 'shm', mountPath: '/dev/shm' },
    ],
    ...(options.probes
      ? { readinessProbe: options.probes.readiness, livenessProbe: options.probes.liveness }
      : {}),
  };
  return {
    metadata: kubernetesMetadataFor(labelsFor(spec)),
    spec: {
      serviceAccountName: options.serviceAccountName,
      automountServiceAccountToken: false,
      // No environment variables naming the namespace's other services: nothing the spec did not say.
      enableServiceLinks: false,
      shareProcessNamespace: true,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      restartPolicy: options.restartPolicy,
      terminationGracePeriodSeconds: spec.stopGraceSeconds,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        // The emptyDirs belong to the instance's group, as podman's `U` gives the tmpfs to its user.
        fsGroup: gid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [container],
      volumes,
    },
  };
}

/**
 * A container's securityContext as Pod Security's `restricted` profile wants it and more: the
 * workload's and the drift probe's alike, so the two cannot drift apart.
 */
export function restrictedSecurityContext(
  user: { uid: number; gid: number },
  options: { readOnlyRoot: boolean },
): V1SecurityContext {
  return {
    readOnlyRootFilesystem: options.readOnlyRoot,
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function environment(
  env: Readonly<Record<string, string>>,
  secretEnv: PodTemplateOptions['secretEnv'],
): V1EnvVar[] {
  const fromSecret = new Set(secretEnv?.names ?? []);
  const plain = Object.entries(env)
    .filter(([name]) => !fromSecret.has(name))
    .map(([name, value]) => ({ name, value }));
  const secret = [...fromSecret].sort().map((name) => ({
    name,
    valueFrom: { secretKeyRef: { name: secretEnv?.secretName ?? '', key: name } },
  }));
  return [...plain, ...secret];
}
