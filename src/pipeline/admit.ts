/**
 * Admission as a use case: the last check before a digest runs, for every way it comes to run (a
 * rollout from the API or `herd up`, a rollback, the controller's own revert). The facts are
 * gathered and judged in trust/admission.ts; a refusal is journaled here, and only here.
 */
import type { FleetControllerOptions, FleetTemplate } from '../fleet/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import { type AdmissionDecision, checkAdmission, loadTrustedKeys, TrustError } from '../trust/index.js';
import { admissionCatalogView } from './admission-catalog-view.js';
import type { PipelineState } from './parts.js';

export interface AdmitParts {
  store: LayoutStore;
  /** The catalog admission reads, the journal a refusal goes to, and the control plane's actor. */
  state: PipelineState;
  /** HERD_HOME: its trusted keys, and the signed checkpoint the journal is held to. */
  home: Pick<HerdHome, 'root'>;
}

export interface AdmitRequest {
  service: string;
  digest: Digest;
  /** The template the fleet would run the digest with; its run template must be the signed one. */
  template: FleetTemplate;
  /** Who asked, when someone did; else the refusal is the state's actor's (the control plane's). */
  actor?: string;
}

export type Admitted = Extract<AdmissionDecision, { admitted: true }>;

/**
 * Admits a digest that a trusted key signed, with a signed passing verdict and the run template
 * the rollout would use, released for the service and not revoked. Anything else is journaled as
 * `admission-refused` (with the refusal's code) and thrown as ADMISSION_REFUSED.
 */
export async function admitImage(parts: AdmitParts, request: AdmitRequest): Promise<Admitted> {
  const { service, digest, template } = request;
  const { catalog, journal } = parts.state;
  // Read at each admission, so a key trusted or removed while the control plane runs counts at once.
  const publicKeys = (await loadTrustedKeys(parts.home)).map((k) => k.publicKey);
  const decision = await checkAdmission(
    {
      store: parts.store,
      publicKeys,
      catalog: admissionCatalogView({ catalog, journal, home: parts.home, publicKeys }),
    },
    // A template stored before run templates (version 0) has none admission could compare.
    { service, digest, template: template.version === 1 ? template.run : undefined },
  );
  if (decision.admitted) return decision;
  journal.append({
    actor: request.actor ?? parts.state.actor,
    action: 'admission-refused',
    service,
    digest,
    details: { code: decision.code, reason: decision.reason },
  });
  throw new TrustError('ADMISSION_REFUSED', `admission refused for ${service}: ${decision.reason}`);
}

/**
 * admitImage as the fleet controller asks for it, before a rollout, a rollback and its own revert:
 * whoever asked is the actor of a refusal, the control plane when the controller acts on its own.
 */
export function controllerAdmission(parts: AdmitParts): FleetControllerOptions['admit'] {
  return async (service, digest, context) => {
    const { template, actor } = context;
    await admitImage(parts, { service, digest, template, ...(actor ? { actor } : {}) });
  };
}
