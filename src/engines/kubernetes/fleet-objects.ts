/**
 * A fleet as the Kubernetes objects a user applies (`herd render kubernetes`): pure, from one
 * instance's spec and the fleet's knobs, in the order they can be applied. The Deployment carries
 * herd's rollout fields as they are (herd took Kubernetes' names and arithmetic for them), so
 * Kubernetes' deployment controller rolls out as herd would; herd's own auto-revert, health from
 * outside and drift watch run only where herd's KubernetesEngine drives the pods itself
 * (docs/adr/0014-kubernetes-pods-under-herds-controller.md says why both exist).
 */
import type { V1Deployment, V1DeploymentStrategy, V1Probe, V1Service } from '@kubernetes/client-node';
import { EngineError, type InstanceSpec, instanceLabels } from '../engine.js';
import {
  admissionPolicyFor,
  admittedDigestsConfigMap,
  type ClusterImagePolicy,
  clusterImagePolicyFor,
} from './admission-objects.js';
import {
  controllerAccessFor,
  namespaceFor,
  workloadAccountFor,
  workloadAccountName,
} from './controller-rbac.js';
import { podTemplateFor } from './pod-template.js';

/** The health check as the spec says it (`health:`); the kubelet runs it as the pods' probes. */
export type ProbeCheck =
  | {
      kind: 'http';
      path: string;
      port: number;
      intervalSeconds: number;
      timeoutSeconds: number;
      retries: number;
    }
  | { kind: 'tcp'; port: number; intervalSeconds: number; timeoutSeconds: number; retries: number };

export interface KubernetesFleetInput {
  namespace: string;
  /** One instance of the fleet, its `imageRef` where the cluster's nodes pull from, by digest. */
  instance: InstanceSpec;
  replicas: number;
  strategy: {
    /** `rolling` (the default) and `recreate` are a Deployment's own; `blue-green` is not (UNSUPPORTED). */
    type?: 'rolling' | 'recreate' | 'blue-green';
    maxSurge: number | string;
    maxUnavailable: number | string;
    minReadySeconds: number;
    progressDeadlineSeconds: number;
  };
  health?: ProbeCheck;
  /** Consecutive failed checks before the kubelet restarts an instance (`fleet.health.failureThreshold`). */
  failureThreshold: number;
  /** Environment names the pods read from the Secret `<service>-env`, which the user makes. */
  secretEnv: readonly string[];
  /** Every digest the namespace may run: this fleet's, and any other herd admitted there. */
  admittedDigests: readonly `sha256:${string}`[];
  /** herd's trusted cosign public keys (PEM); none leaves the ClusterImagePolicy out. */
  signingKeys: readonly { name: string; pem: string }[];
}

/** Every object `renderFleetObjects` makes: Kubernetes' own kinds, and policy-controller's. */
export type KubernetesObject =
  | ReturnType<typeof namespaceFor>
  | ReturnType<typeof workloadAccountFor>
  | ReturnType<typeof controllerAccessFor>[number]
  | ReturnType<typeof admittedDigestsConfigMap>
  | ReturnType<typeof admissionPolicyFor>[number]
  | ClusterImagePolicy
  | V1Deployment
  | V1Service;

/** Pure: the objects of one fleet, in an order `kubectl apply -f` can create them in. */
export function renderFleetObjects(input: KubernetesFleetInput): KubernetesObject[] {
  const { namespace, instance } = input;
  const admitted = [...new Set([...input.admittedDigests, instance.digest])];
  const [policy, binding] = admissionPolicyFor(namespace);
  return [
    namespaceFor(namespace),
    ...controllerAccessFor(namespace),
    workloadAccountFor(namespace),
    admittedDigestsConfigMap(namespace, admitted),
    policy,
    binding,
    ...(input.signingKeys.length > 0
      ? [
          clusterImagePolicyFor({
            namespace,
            repository: repositoryOf(instance.imageRef),
            keys: input.signingKeys,
          }),
        ]
      : []),
    deploymentFor(input),
    ...(instance.port !== undefined ? [serviceFor(namespace, instance.service, instance.port)] : []),
  ];
}

function deploymentFor(input: KubernetesFleetInput): V1Deployment {
  const { instance } = input;
  const template = podTemplateFor(instance, {
    restartPolicy: 'Always',
    serviceAccountName: workloadAccountName,
    secretEnv: { secretName: `${instance.service}-env`, names: input.secretEnv },
    ...(input.health ? { probes: probesFor(input.health, input.failureThreshold) } : {}),
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: instance.service, namespace: input.namespace, ...template.metadata },
    spec: {
      replicas: input.replicas,
      selector: { matchLabels: selectorFor(instance.service) },
      strategy: deploymentStrategyFor(input.strategy),
      minReadySeconds: input.strategy.minReadySeconds,
      progressDeadlineSeconds: input.strategy.progressDeadlineSeconds,
      // herd keeps its own revisions by digest; a few ReplicaSets are enough for `kubectl rollout undo`.
      revisionHistoryLimit: 3,
      template,
    },
  };
}

function deploymentStrategyFor(strategy: KubernetesFleetInput['strategy']): V1DeploymentStrategy {
  switch (strategy.type ?? 'rolling') {
    case 'rolling':
      return {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: strategy.maxSurge, maxUnavailable: strategy.maxUnavailable },
      };
    case 'recreate':
      return { type: 'Recreate' };
    case 'blue-green':
      throw new EngineError(
        'UNSUPPORTED',
        "strategy.type blue-green: a Deployment has only RollingUpdate and Recreate; expected rolling or recreate to render, or herd's KubernetesEngine, whose controller runs blue-green itself",
      );
  }
}

function serviceFor(namespace: string, service: string, port: number): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: service, namespace, labels: { 'app.kubernetes.io/managed-by': 'herd' } },
    spec: {
      type: 'ClusterIP',
      selector: selectorFor(service),
      ports: [{ name: 'service', port, targetPort: port, protocol: 'TCP' }],
    },
  };
}

function selectorFor(service: string): Record<string, string> {
  return { [instanceLabels.managedBy]: 'herd', [instanceLabels.service]: service };
}

/**
 * The spec's check as the kubelet's probes: ready after one pass, restarted after
 * `failureThreshold` failed checks in a row. Kubernetes counts whole seconds, at least one.
 */
function probesFor(check: ProbeCheck, failureThreshold: number): { readiness: V1Probe; liveness: V1Probe } {
  const action =
    check.kind === 'http'
      ? { httpGet: { path: check.path, port: check.port, scheme: 'HTTP' } }
      : { tcpSocket: { port: check.port } };
  const timing = {
    periodSeconds: Math.max(1, Math.ceil(check.intervalSeconds)),
    timeoutSeconds: Math.max(1, Math.ceil(check.timeoutSeconds)),
  };
  return {
    readiness: { ...action, ...timing, successThreshold: 1, failureThreshold: check.retries },
    liveness: { ...action, ...timing, successThreshold: 1, failureThreshold },
  };
}

/** `registry.example/team/hello` of `registry.example/team/hello@sha256:…` (or `…:tag`). */
export function repositoryOf(imageRef: string): string {
  const withoutDigest = imageRef.split('@')[0] ?? imageRef;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const tagColon = withoutDigest.lastIndexOf(':');
  return tagColon > lastSlash ? withoutDigest.slice(0, tagColon) : withoutDigest;
}
