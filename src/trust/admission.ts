/**
 * Admission: the last check before a digest runs. An image is admitted only when a trusted key
 * signed it, the same key's attestations include a passing gate verdict about it, the catalog has
 * released it for the service, and it is not revoked. `decideAdmission` is pure; `checkAdmission`
 * gathers the facts. trust/ may not import the catalog, so the caller hands in a view of it.
 */
import type { KeyObject } from 'node:crypto';
import type { LayoutStore } from '../oci/layout-store.js';
import type { Digest } from '../oci/types.js';
import { gateVerdictPredicateType } from './build-statements.js';
import { TrustError } from './errors.js';
import { verifyImage } from './image-signatures.js';

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
}

export type AdmissionDecision =
  | { admitted: true; stage: string; profile: string }
  | { admitted: false; code: AdmissionRefusal; reason: string };

export type AdmissionRefusal = 'REVOKED' | 'UNSIGNED' | 'NOT_GATED' | 'GATE_FAILED' | 'NOT_RELEASED';

/** Revocation first: it is the most deliberate "no" and the one an operator looks for. */
export function decideAdmission(facts: AdmissionFacts): AdmissionDecision {
  const { service, digest } = facts;
  if (facts.revoked) {
    const { reason, actor, at } = facts.revoked;
    return refuse('REVOKED', `${digest} was revoked by ${actor} at ${at}: ${reason}`);
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
  return { admitted: true, stage: facts.stage, profile: facts.verdict.profile };
}

function refuse(code: AdmissionRefusal, reason: string): AdmissionDecision {
  return { admitted: false, code, reason };
}

/** What admission needs to know of the catalog. */
export interface CatalogView {
  stageOf(service: string, digest: Digest): string | undefined;
  revocation(digest: Digest): { reason: string; actor: string; at: string } | undefined;
}

export async function checkAdmission(
  parts: { store: LayoutStore; catalog: CatalogView; publicKeys: readonly KeyObject[] },
  service: string,
  digest: Digest,
): Promise<AdmissionDecision> {
  const facts: AdmissionFacts = { service, digest };
  const revoked = parts.catalog.revocation(digest);
  if (revoked) facts.revoked = revoked;
  const stage = parts.catalog.stageOf(service, digest);
  if (stage !== undefined) facts.stage = stage;
  try {
    const verified = await verifyImage(parts.store, digest, {
      publicKeys: parts.publicKeys,
      attestations: true,
    });
    const verdict = latestSignedVerdict(
      verified.attestations.filter((a) => a.predicateType === gateVerdictPredicateType),
      digest,
    );
    if (verdict) facts.verdict = verdict;
  } catch (error) {
    if (!(error instanceof TrustError)) throw error;
    facts.signatureProblem = error.message;
  }
  return decideAdmission(facts);
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
