import type { JournalEntry } from '../journal/index.js';
import type { Digest } from '../oci/index.js';
import type { Stage } from './stages.js';

/** One release event: `service → digest` at a stage, who did it and when. */
export interface Release {
  service: string;
  digest: Digest;
  stage: Stage;
  actor: string;
  /** The same instant as its journal entry. */
  at: string;
  journalId: number;
}

/** A revoked digest never runs or releases again, under any service. */
export interface Revocation {
  /** The service it was revoked under. */
  service: string;
  digest: Digest;
  reason: string;
  actor: string;
  at: string;
  journalId: number;
}

/** One row of `herd catalog`: a digest of a service as it stands now. */
export interface CatalogEntry {
  service: string;
  digest: Digest;
  /** The furthest stage reached (stages only move forward). */
  stage: Stage;
  releasedAt: string;
  releasedBy: string;
  revoked?: Pick<Revocation, 'reason' | 'actor' | 'at'>;
}

export type HistoryEvent = ({ kind: 'release' } & Release) | ({ kind: 'revoke' } & Revocation);

/**
 * The signature check the caller injects, typically
 * `(digest) => verifyImage(store, digest, { publicKeys })` from src/trust. Return a failure rather
 * than throw when the image is unsigned or signed by another key; throw only when the check itself
 * could not run (a thrown error propagates unchanged and nothing is written).
 */
export type SignatureCheck = (
  digest: Digest,
) => Promise<boolean | { ok: true } | { ok: false; reason: string }>;

export type ReleaseOutcome =
  | { kind: 'released'; release: Release; journalEntry: JournalEntry }
  /** Already released at that stage: nothing written, `release` is the existing one. */
  | { kind: 'unchanged'; release: Release };

export type RevokeOutcome =
  | { kind: 'revoked'; revocation: Revocation; journalEntry: JournalEntry }
  /** Already revoked: nothing written, `revocation` is the existing one. */
  | { kind: 'unchanged'; revocation: Revocation };
