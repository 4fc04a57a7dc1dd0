/**
 * What keeps anything but herd's admitted, signed digests from running in herd's namespace, whoever
 * creates the pod (a stolen CI credential, a `kubectl run`, herd itself): pure objects.
 *
 * - A ConfigMap lists the digests herd admitted (signed, gate passed, released, run as signed),
 *   one key `sha256-<hex>` each; KubernetesEngine's `ensureImage` adds one, `removeImage` drops it.
 * - A ValidatingAdmissionPolicy, bound to herd's namespace with the ConfigMap as its parameter,
 *   denies a pod (created, updated, or given an ephemeral container) with any container whose
 *   image is not `<repository>@sha256:<64 hex>` with that digest in the ConfigMap. No ConfigMap, no
 *   pod (parameterNotFoundAction Deny), and an error in the policy denies too (failurePolicy Fail).
 *   An ephemeral container is only ever herd's drift probe (probe-container.ts): its digest under a
 *   key of its own (`drift-probe-sha256-<hex>`, so no workload image runs as one and the probe runs
 *   as nothing else), named `herd-drift-<n>`, running its image's own entrypoint (no `command`),
 *   with no volume and no environment. Whoever holds herd's role can add the probe, never a shell.
 * - A sigstore policy-controller ClusterImagePolicy with herd's trusted cosign public keys, so a
 *   digest runs only with a signature by one of them, checked on the cluster's side from the
 *   registry (`sha256-<hex>.sig`, the format herd signs in). Without a transparency log (herd signs
 *   offline), which policy-controller skips for a key authority that names no `ctlog`.
 *
 * ValidatingAdmissionPolicy: https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/
 * ClusterImagePolicy: sigstore/policy-controller, config/300-clusterimagepolicy.yaml (v1beta1).
 */
import type {
  V1ConfigMap,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';

/** The ConfigMap of admitted digests, in herd's namespace. */
export const admittedDigestsName = 'herd-admitted-digests';
/** The policy and its binding; cluster-scoped, so named after the namespace they guard. */
export const admissionPolicyName = (namespace: string) => `herd-admitted-digests.${namespace}`;

/** `sha256:<hex>` as a ConfigMap key (a key may not hold `:`). */
export function admittedDigestKey(digest: `sha256:${string}`): string {
  return digest.replace(':', '-');
}

/** The drift probe's digest as a ConfigMap key: apart from the workloads', see the policy. */
export function driftProbeDigestKey(digest: `sha256:${string}`): string {
  return `drift-probe-${admittedDigestKey(digest)}`;
}

/** A policy-controller ClusterImagePolicy (policy.sigstore.dev/v1beta1); no npm package types it. */
export interface ClusterImagePolicy {
  apiVersion: 'policy.sigstore.dev/v1beta1';
  kind: 'ClusterImagePolicy';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    images: { glob: string }[];
    authorities: { name: string; key: { data: string; hashAlgorithm: 'sha256' } }[];
    mode: 'enforce' | 'warn';
  };
}

/** Pure: the ConfigMap that says which digests herd admitted. */
export function admittedDigestsConfigMap(
  namespace: string,
  digests: readonly `sha256:${string}`[],
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: admittedDigestsName, namespace, labels: managedLabels },
    data: Object.fromEntries(
      [...new Set(digests)].sort().map((digest) => [admittedDigestKey(digest), digest]),
    ),
  };
}

/**
 * A container's image is admitted: exactly one `@sha256:` and 64 lowercase hex after it, and that
 * digest a key of the parameter ConfigMap. `c` is the container of the list being checked.
 */
const imageAdmitted =
  "c.image.matches('^[^@]+@sha256:[0-9a-f]{64}$') && has(params.data) && " +
  "('sha256-' + c.image.substring(c.image.lastIndexOf('@sha256:') + 8)) in params.data";

/** An ephemeral container is herd's drift probe, as probe-container.ts makes it, of an admitted probe digest. */
const probeAdmitted =
  "c.name.startsWith('herd-drift-') && !has(c.command) && !has(c.volumeMounts) && !has(c.volumeDevices) && " +
  "!has(c.env) && !has(c.envFrom) && c.image.matches('^[^@]+@sha256:[0-9a-f]{64}$') && has(params.data) && " +
  "('drift-probe-sha256-' + c.image.substring(c.image.lastIndexOf('@sha256:') + 8)) in params.data";

/** The policy's checks, one per container list (they have different types in CEL). */
export const admissionValidations = [
  {
    expression: `object.spec.containers.all(c, ${imageAdmitted})`,
    messageExpression:
      "'pod ' + object.metadata.name + ' runs an image herd did not admit: ' + object.spec.containers.map(c, c.image).join(', ') + '; expected <repository>@sha256:<digest> of a digest in configmap " +
      `${admittedDigestsName}'`,
    reason: 'Forbidden',
  },
  {
    expression: `!has(object.spec.initContainers) || object.spec.initContainers.all(c, ${imageAdmitted})`,
    message: `an init container runs an image herd did not admit: expected <repository>@sha256:<digest> of a digest in configmap ${admittedDigestsName}`,
    reason: 'Forbidden',
  },
  {
    expression: `!has(object.spec.ephemeralContainers) || object.spec.ephemeralContainers.all(c, ${probeAdmitted})`,
    message: `an ephemeral container is not herd's drift probe: expected herd-drift-<n> running <repository>@sha256:<digest> of a drift-probe-sha256-<hex> key in configmap ${admittedDigestsName}, with no command, volume or environment`,
    reason: 'Forbidden',
  },
] as const;

/** Pure: the policy and its binding to `namespace`, the ConfigMap of that namespace as parameter. */
export function admissionPolicyFor(
  namespace: string,
): [V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding] {
  const name = admissionPolicyName(namespace);
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels: managedLabels },
      spec: {
        failurePolicy: 'Fail',
        paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              // An ephemeral container is added through its own subresource: `kubectl debug`.
              resources: ['pods', 'pods/ephemeralcontainers'],
            },
          ],
        },
        validations: admissionValidations.map((validation) => ({ ...validation })),
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels: managedLabels },
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        paramRef: { name: admittedDigestsName, namespace, parameterNotFoundAction: 'Deny' },
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        },
      },
    },
  ];
}

/**
 * Pure: the ClusterImagePolicy for the images of `repository` (`registry.example/team/hello`): any
 * tag or digest of it runs only with a signature by one of `keys` (PEM, ECDSA P-256).
 */
export function clusterImagePolicyFor(options: {
  namespace: string;
  repository: string;
  keys: readonly { name: string; pem: string }[];
}): ClusterImagePolicy {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name: `herd-signed.${options.namespace}`, labels: managedLabels },
    spec: {
      images: [{ glob: `${options.repository}**` }],
      authorities: options.keys.map((key) => ({
        name: key.name,
        key: { data: key.pem, hashAlgorithm: 'sha256' },
      })),
      mode: 'enforce',
    },
  };
}

const managedLabels = { 'app.kubernetes.io/managed-by': 'herd' };
