/**
 * Admission: the last check before a digest runs. An image is admitted only when a trusted key
 * signed it, the same key's attestations include a passing gate verdict about it, the catalog has
 * released it for the service, it is not revoked, and the rollout would run it as the signed run
 * template says (user, writable paths, writable root, capabilities, ports…: what the gate
 * judged). `decideAdmission` is pure; `checkAdmission` gathers the facts. trust/ may not import
 * the catalog, so the caller hands in a view of it.
 */
import type { KeyObject } from 'node:crypto';
import type { Digest, LayoutStore } from '../oci/index.js';
import { judgedDifferences, parseRunTemplate, type RunTemplate, SpecError } from '../specfile/index.js';
import {
  fileManifestPredicateType,
  gateVerdictPredicateType,
  runTemplatePredicateType,
} from './build-statements.js';
import { TrustError } from './errors.js';
import { verifyImage } from './image-signatures.js';
import { localRepository } from './signed-identity.js';

export interface AdmissionFacts {
  service: string;
  digest: Digest;
  /** Why the signature or its attestations did not verify; undefined when they did. */
  signatureProblem?: string;
  /** The signed verdict, when the attestations hold one. */
  verdict?: { passed: boolean; profile: string; evaluatedAt: string };
  /** The furthest catalog stage of this digest for this service; undefined when never released. */
  stage?: string;
  /** Set when the digest is revoked (under any service). */
  revoked?: { reason: string; actor: string; at: string };
  /**
   * Why the catalog cannot be believed: it disagrees with the journal, or the journal with its
   * signed checkpoint (a deleted revocation, a rewritten tail). Undefined when they agree.
   */
  catalogInconsistency?: string;
  /** The run template the rollout would run with, and the one signed with the image. */
  template?: TemplateFacts;
}

export interface TemplateFacts {
  /** Undefined when the fleet's stored template predates run templates. */
  requested?: RunTemplate;
  /** Undefined when the image was signed without one (built or signed before run templates). */
  attested?: RunTemplate;
  /** Why the signed run template cannot be read (malformed, unknown version, more than one). */
  attestedProblem?: string;
}

export type AdmissionDecision =
  | { admitted: true; stage: string; profile: string }
  | { admitted: false; code: AdmissionRefusal; reason: string };

export type AdmissionRefusal =
  | 'REVOKED'
  /** The catalog and the journal (or the journal and its checkpoint) disagree: nothing is admitted. */
  | 'CATALOG_INCONSISTENT'
  | 'UNSIGNED'
  | 'NOT_GATED'
  | 'GATE_FAILED'
  | 'NOT_RELEASED'
  /** No readable run template is signed with the image. */
  | 'TEMPLATE_UNATTESTED'
  /** The rollout's run template differs from the signed one in what the gate judged. */
  | 'TEMPLATE_MISMATCH';

/** Revocation first: it is the most deliberate "no" and the one an operator looks for. */
export function decideAdmission(facts: AdmissionFacts): AdmissionDecision {
  const { service, digest } = facts;
  if (facts.revoked) {
    const { reason, actor, at } = facts.revoked;
    return refuse('REVOKED', `${digest} was revoked by ${actor} at ${at}: ${reason}`);
  }
  // A deleted revocation looks like no revocation: while the catalog is in doubt, nothing runs.
  if (facts.catalogInconsistency !== undefined) {
    return refuse(
      'CATALOG_INCONSISTENT',
      `the catalog cannot be trusted, so ${digest} is not admitted: ${facts.catalogInconsistency}; herd journal --verify lists every disagreement`,
    );
  }
  if (facts.signatureProblem !== undefined) {
    return refuse('UNSIGNED', `${digest} is not signed by a trusted key: ${facts.signatureProblem}`);
  }
  if (!facts.verdict) {
    return refuse('NOT_GATED', `${digest} has no signed gate verdict: gate it, then sign it again`);
  }
  if (!facts.verdict.passed) {
    return refuse(
      'GATE_FAILED',
      `${digest} failed the gate (${facts.verdict.profile}, ${facts.verdict.evaluatedAt})`,
    );
  }
  if (facts.stage === undefined) {
    return refuse(
      'NOT_RELEASED',
      `${digest} is not released for ${service}: herd release ${service} ${digest}`,
    );
  }
  const template = templateRefusal(facts.template ?? {}, digest);
  if (template) return template;
  return { admitted: true, stage: facts.stage, profile: facts.verdict.profile };
}

/** The fleet's own knobs (size, strategy, resources, health) may differ; what the gate judged may not. */
function templateRefusal(template: TemplateFacts, digest: Digest): AdmissionDecision | undefined {
  if (template.attestedProblem !== undefined) {
    return refuse(
      'TEMPLATE_UNATTESTED',
      `${digest} has no usable signed run template: ${template.attestedProblem}`,
    );
  }
  if (!template.attested) {
    return refuse(
      'TEMPLATE_UNATTESTED',
      `${digest} has no signed run template (built or signed before herd attested run templates): build it again with this herd, which gives the same digest and attaches the template, then sign it again`,
    );
  }
  if (!template.requested) {
    return refuse(
      'TEMPLATE_MISMATCH',
      `the fleet's stored template predates run templates, so it cannot be compared with the one signed with ${digest}: roll out with --spec and the herd.yaml the image was built from`,
    );
  }
  const differences = judgedDifferences(template.attested, template.requested);
  if (differences.length === 0) return undefined;
  const listed = differences
    .map((one) => `${one.field}: signed ${one.attested}, requested ${one.requested}`)
    .join('; ');
  return refuse(
    'TEMPLATE_MISMATCH',
    `the rollout would run ${digest} otherwise than its signed run template (${differences.map((one) => one.field).join(', ')}): ${listed}; roll out with the herd.yaml it was built from, or build and sign the change`,
  );
}

function refuse(code: AdmissionRefusal, reason: string): AdmissionDecision {
  return { admitted: false, code, reason };
}

/**
 * The attestations a trusted key must have made, besides its signature, for herd to accept an
 * image: `herd verify --attestations` asks for them, and admission too (the verdict's absence is
 * its own refusal, NOT_GATED).
 */
export const requiredPredicateTypes: readonly string[] = [
  gateVerdictPredicateType,
  fileManifestPredicateType,
];

/** What admission needs to know of the catalog. */
export interface CatalogView {
  stageOf(service: string, digest: Digest): string | undefined;
  revocation(digest: Digest): { reason: string; actor: string; at: string } | undefined;
  /** Why the catalog disagrees with the journal or the journal with its checkpoint; undefined when neither. */
  inconsistency(): Promise<string | undefined>;
}

/**
 * `request.template` is the run template the rollout would run with (FleetTemplate.run); undefined
 * for a fleet whose stored template predates run templates, which is refused.
 */
export async function checkAdmission(
  parts: { store: LayoutStore; catalog: CatalogView; publicKeys: readonly KeyObject[] },
  request: { service: string; digest: Digest; template: RunTemplate | undefined },
): Promise<AdmissionDecision> {
  const { service, digest } = request;
  const facts: AdmissionFacts = { service, digest };
  facts.template = request.template ? { requested: request.template } : {};
  const revoked = parts.catalog.revocation(digest);
  if (revoked) facts.revoked = revoked;
  const inconsistency = await parts.catalog.inconsistency();
  if (inconsistency !== undefined) facts.catalogInconsistency = inconsistency;
  const stage = parts.catalog.stageOf(service, digest);
  if (stage !== undefined) facts.stage = stage;
  try {
    // The key must have signed the image for the service's local repository, and attested its
    // file manifest; the verdict it attested is read below (NOT_GATED when there is none).
    const verified = await verifyImage(parts.store, digest, {
      publicKeys: parts.publicKeys,
      attestations: true,
      requiredPredicates: [fileManifestPredicateType],
      identity: localRepository(service),
    });
    const verdict = latestSignedVerdict(
      verified.attestations.filter((a) => a.predicateType === gateVerdictPredicateType),
      digest,
    );
    if (verdict) facts.verdict = verdict;
    Object.assign(
      facts.template,
      signedRunTemplate(
        verified.attestations.filter((a) => a.predicateType === runTemplatePredicateType),
        digest,
      ),
    );
  } catch (error) {
    if (!(error instanceof TrustError)) throw error;
    facts.signatureProblem = error.message;
  }
  return decideAdmission(facts);
}

/** The one run template the trusted key attested, or why there is none to compare with. */
function signedRunTemplate(
  attestations: readonly { statement: { predicate?: unknown } }[],
  digest: Digest,
): Pick<TemplateFacts, 'attested' | 'attestedProblem'> {
  const [only, ...more] = attestations;
  if (!only) return {};
  if (more.length > 0) {
    return { attestedProblem: `${attestations.length} run templates are signed with it, expected 1` };
  }
  try {
    return { attested: parseRunTemplate(only.statement.predicate, `the run template signed with ${digest}`) };
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return { attestedProblem: error.message };
  }
}

function latestSignedVerdict(
  attestations: readonly { statement: { predicate?: unknown } }[],
  digest: Digest,
): AdmissionFacts['verdict'] {
  let latest: AdmissionFacts['verdict'];
  for (const { statement } of attestations) {
    const predicate = statement.predicate as Partial<{
      image: string;
      passed: boolean;
      profile: string;
      evaluatedAt: string;
    }>;
    if (predicate?.image !== digest || typeof predicate.passed !== 'boolean') continue;
    const verdict = {
      passed: predicate.passed,
      profile: String(predicate.profile),
      evaluatedAt: String(predicate.evaluatedAt),
    };
    if (!latest || verdict.evaluatedAt > latest.evaluatedAt) latest = verdict;
  }
  return latest;
}
