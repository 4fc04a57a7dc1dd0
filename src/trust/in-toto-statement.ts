/**
 * in-toto Statement v1: a predicate (SBOM, provenance, verdict) about subjects named by digest.
 * Spec: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 */
import { z } from 'zod';
import type { Digest } from '../oci/index.js';
import { hexOf } from '../oci/index.js';

export const inTotoStatementType = 'https://in-toto.io/Statement/v1';
export const inTotoPayloadType = 'application/vnd.in-toto+json';

export interface InTotoSubject {
  name: string;
  /** algorithm → lowercase hex, e.g. `{ sha256: "ab…" }`. */
  digest: Record<string, string>;
}

export interface InTotoStatement {
  _type: string;
  subject: InTotoSubject[];
  predicateType: string;
  predicate: unknown;
}

export function inTotoStatement(
  subject: { name: string; digest: Digest },
  predicate: { predicateType: string; predicate: unknown },
): InTotoStatement {
  return {
    _type: inTotoStatementType,
    subject: [{ name: subject.name, digest: { sha256: hexOf(subject.digest) } }],
    predicateType: predicate.predicateType,
    predicate: predicate.predicate,
  };
}

/** v0.1 statements (what cosign writes) and v1 statements have the same shape where herd reads them. */
export const InTotoStatement = z.object({
  _type: z.enum(['https://in-toto.io/Statement/v0.1', inTotoStatementType]),
  subject: z.array(z.object({ name: z.string(), digest: z.record(z.string(), z.string()) })).min(1),
  predicateType: z.string().min(1),
  predicate: z.unknown(),
});

export function statementNamesDigest(statement: InTotoStatement, digest: Digest): boolean {
  return statement.subject.some((s) => s.digest.sha256 === hexOf(digest));
}
