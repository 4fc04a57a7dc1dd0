/**
 * The catalog's rules as pure decisions over what is already recorded. catalog.ts reads the
 * records, asks here, and writes what the plan says, inside one transaction.
 */
import type { Digest } from '../oci/index.js';
import { CatalogError } from './errors.js';
import { type Stage, stageRank } from './stages.js';
import type { Release, Revocation } from './types.js';

export type ReleasePlan =
  | { kind: 'release'; previousStage: Stage | null }
  | { kind: 'unchanged'; release: Release };

export interface ReleaseRequest {
  service: string;
  digest: Digest;
  stage: Stage;
}

/**
 * A revoked digest is refused. A digest moves forward only: candidate → accepted → production,
 * skipping a stage is allowed, the same stage again changes nothing, and moving back is refused.
 * Going back to an older digest is `rollback`'s job, not a demotion of this one.
 */
export function planRelease(
  request: ReleaseRequest,
  recorded: { latest: Release | undefined; revocation: Revocation | undefined },
): ReleasePlan {
  const { service, digest, stage } = request;
  if (recorded.revocation) {
    throw new CatalogError(
      'REVOKED',
      `cannot release ${digest} for service ${service}: it was revoked by ${recorded.revocation.actor} (${recorded.revocation.reason})`,
    );
  }
  const latest = recorded.latest;
  if (!latest) return { kind: 'release', previousStage: null };
  if (latest.stage === stage) return { kind: 'unchanged', release: latest };
  if (stageRank(stage) < stageRank(latest.stage)) {
    throw new CatalogError(
      'STAGE_INVALID',
      `cannot release ${digest} for service ${service} at ${stage}: it is already at ${latest.stage}, and stages only move forward (candidate, accepted, production)`,
    );
  }
  return { kind: 'release', previousStage: latest.stage };
}

export type RevokePlan = { kind: 'revoke' } | { kind: 'unchanged'; revocation: Revocation };

/**
 * Revoking twice changes nothing. A digest never released for the service is refused: the digest
 * is typed by hand, and a typo must not look like a successful revocation of the real one.
 */
export function planRevoke(
  request: { service: string; digest: Digest },
  recorded: { latest: Release | undefined; revocation: Revocation | undefined },
): RevokePlan {
  if (recorded.revocation) return { kind: 'unchanged', revocation: recorded.revocation };
  if (!recorded.latest) {
    throw new CatalogError(
      'NOT_FOUND',
      `cannot revoke ${request.digest} for service ${request.service}: it was never released for that service`,
    );
  }
  return { kind: 'revoke' };
}
