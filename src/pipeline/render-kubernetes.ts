/**
 * A service's fleet as the Kubernetes objects a user applies to a cluster (`herd render
 * kubernetes`): the digest is admitted first exactly as a rollout admits it (signed by a trusted
 * key, gate passed, released, not revoked, run as signed: a refusal is journaled and thrown), then
 * the fleet's template is rendered (src/engines/kubernetes/fleet-objects.ts) with herd's trusted
 * keys in the ClusterImagePolicy. Nothing is written: the caller prints the objects.
 */
import { type KubernetesObject, renderFleetObjects } from '../engines/index.js';
import { fleetTemplateFor, instanceSpecFor } from '../fleet/index.js';
import { type Digest, shortDigest } from '../oci/index.js';
import type { Spec } from '../specfile/index.js';
import { loadTrustedKeys } from '../trust/index.js';
import { type AdmitParts, admitImage } from './admit.js';

export interface RenderKubernetesRequest {
  spec: Spec;
  digest: Digest;
  /** The repository the cluster's nodes pull the image from, by digest: `registry.example/team/hello`. */
  repository: string;
  namespace: string;
  /** Digests already admitted in the namespace, kept beside this one in its ConfigMap. */
  alsoAdmitted?: readonly Digest[];
}

export async function renderKubernetes(
  parts: AdmitParts,
  request: RenderKubernetesRequest,
): Promise<KubernetesObject[]> {
  const { spec, digest } = request;
  const template = fleetTemplateFor(spec, spec.fleet);
  await admitImage(parts, { service: spec.service, digest, template });
  const keys = await loadTrustedKeys(parts.home);
  const instance = instanceSpecFor(
    { service: spec.service, revision: shortDigest(digest), digest, template },
    { imageRef: `${request.repository}@${digest}` },
  );
  return renderFleetObjects({
    namespace: request.namespace,
    instance,
    replicas: spec.fleet.size,
    strategy: spec.fleet.strategy,
    ...(spec.health ? { health: spec.health } : {}),
    failureThreshold: spec.fleet.health.failureThreshold,
    // Secrets and values without a default come from the Secret `<service>-env`, which the user makes.
    secretEnv: template.fromEnvironment ?? [],
    admittedDigests: [...(request.alsoAdmitted ?? []), digest],
    signingKeys: keys.map((key) => ({
      name: key.name,
      pem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    })),
  });
}
