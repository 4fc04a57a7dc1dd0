/**
 * The KubernetesEngine's drift probe as the control plane gives it: herd's probe image by the digest
 * HERD_KUBERNETES_DRIFT_PROBE names, pulled from herd's own /v2/ as instances are, and the trusted
 * file list of each image (the signed file manifest, src/watch). The probe's own manifest must
 * verify with herd's trusted keys before the engine starts: an unsigned or unknown probe fails the
 * start, naming the digest, rather than run beside every instance.
 */
import type { KeyObject } from 'node:crypto';
import type { DriftProbeOptions } from '../engines/index.js';
import type { LayoutStore } from '../oci/index.js';
import { trustedImageFiles } from '../watch/index.js';

/** The probe spec's service name (src/engines/kubernetes/probe/herd.yaml). */
export const driftProbeService = 'herd-drift-probe';

export async function kubernetesDriftProbe(options: {
  store: LayoutStore;
  digest: `sha256:${string}`;
  /** Where herd serves /v2/ (`host:port`); the engine puts HERD_KUBERNETES_PULL_FROM in its place. */
  registry: string;
  publicKeys: () => Promise<readonly KeyObject[]>;
}): Promise<DriftProbeOptions> {
  const imageFiles = trustedImageFiles(options.store, { publicKeys: options.publicKeys });
  await imageFiles(options.digest);
  return {
    image: { digest: options.digest, imageRef: `${options.registry}/${driftProbeService}@${options.digest}` },
    imageFiles,
  };
}
