/**
 * Who herd's controller is in a namespace, and all it may do there: pure objects. It makes, lists,
 * watches and removes pods, reads their logs, edits the ConfigMap of admitted digests, and makes and
 * deletes each instance's Secret (instance-secret.ts), and adds herd's drift probe to a pod
 * (`pods/ephemeralcontainers: patch`, the one verb; the admission policy lets in no ephemeral
 * container but the probe: admission-objects.ts); nothing else. Never `pods/exec`, `pods/attach` or
 * `pods/portforward` (no shell into an instance through herd's credentials: docs/architecture.md,
 * "Immutability"), no get, list, watch or update of
 * secrets, never RBAC itself (so it cannot grant itself more), and no wildcard.
 * https://kubernetes.io/docs/reference/access-authn-authz/rbac/
 */
import type { V1Namespace, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { admittedDigestsName } from './admission-objects.js';

export const controllerAccountName = 'herd-controller';

/** What herd's controller may never be granted, whatever else changes in its role. */
export const forbiddenControllerResources = [
  'pods/exec',
  'pods/attach',
  'pods/portforward',
  'roles',
  'rolebindings',
  'clusterroles',
  'clusterrolebindings',
  '*',
] as const;

/**
 * All herd's controller may do to secrets: make an instance's Secret after its pod, delete it when
 * the pod goes. No read: herd never reads a Secret back, and `list` or `watch` would read every
 * Secret of the namespace. (A delete answers with the object deleted, so `delete` reads a Secret as
 * it destroys it; herd deletes only the one named after the pod it removes.)
 */
export const controllerSecretVerbs = ['create', 'delete'] as const;

const managedLabels = { 'app.kubernetes.io/managed-by': 'herd' };

/**
 * Pure: herd's namespace. Pod Security Admission enforces the `restricted` profile on it, so a pod
 * that loosens any of the hardening is refused by the API server too, and policy-controller
 * checks signatures in it (it acts only on namespaces labelled `policy.sigstore.dev/include`).
 */
export function namespaceFor(namespace: string): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {
        ...managedLabels,
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'policy.sigstore.dev/include': 'true',
      },
    },
  };
}

/** The account every instance in herd's namespace runs as. */
export const workloadAccountName = 'herd-workload';

/**
 * Pure: the account instances run as: it holds no token and no role binds it (nothing in an
 * instance talks to the API), so one serves every service of the namespace.
 */
export function workloadAccountFor(namespace: string): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: workloadAccountName, namespace, labels: managedLabels },
    automountServiceAccountToken: false,
  };
}

/** Pure: herd's controller's account, its role and the binding between them. */
export function controllerAccessFor(namespace: string): [V1ServiceAccount, V1Role, V1RoleBinding] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: controllerAccountName, namespace, labels: managedLabels },
      // herd's control plane mounts its token itself (projected, when it runs in the cluster).
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: controllerAccountName, namespace, labels: managedLabels },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        // The drift probe (drift-probes.ts): added, never read back or replaced through this.
        { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch'] },
        { apiGroups: [''], resources: ['secrets'], verbs: [...controllerSecretVerbs] },
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: [admittedDigestsName],
          verbs: ['get', 'update', 'patch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: controllerAccountName, namespace, labels: managedLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: controllerAccountName },
      subjects: [{ kind: 'ServiceAccount', name: controllerAccountName, namespace }],
    },
  ];
}
