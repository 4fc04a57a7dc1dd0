import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../oci/types.js';
import type { CatalogError } from './errors.js';
import { planRelease, planRevoke } from './plan.js';
import { parseStage, type Stage } from './stages.js';
import type { Release, Revocation } from './types.js';

const digest: Digest = `sha256:${'a'.repeat(64)}`;

function releasedAt(stage: Stage): Release {
  return { service: 'web', digest, stage, actor: 'ci', at: '2025-01-01T00:00:00.000Z', journalId: 1 };
}

const revocation: Revocation = {
  service: 'web',
  digest,
  reason: 'CVE-2025-0001',
  actor: 'sec',
  at: '2025-01-02T00:00:00.000Z',
  journalId: 2,
};

describe('planRelease', () => {
  it('releases a digest the service has never had, at any stage', () => {
    for (const stage of ['candidate', 'accepted', 'production'] as const) {
      const plan = planRelease(
        { service: 'web', digest, stage },
        { latest: undefined, revocation: undefined },
      );

      assert.deepEqual(plan, { kind: 'release', previousStage: null });
    }
  });

  it('promotes forward, including past a stage', () => {
    const plan = planRelease(
      { service: 'web', digest, stage: 'production' },
      { latest: releasedAt('candidate'), revocation: undefined },
    );

    assert.deepEqual(plan, { kind: 'release', previousStage: 'candidate' });
  });

  it('changes nothing when the digest is already at that stage', () => {
    const plan = planRelease(
      { service: 'web', digest, stage: 'accepted' },
      { latest: releasedAt('accepted'), revocation: undefined },
    );

    assert.equal(plan.kind, 'unchanged');
  });

  it('refuses to move a digest back a stage', () => {
    assert.throws(
      () =>
        planRelease(
          { service: 'web', digest, stage: 'candidate' },
          { latest: releasedAt('production'), revocation: undefined },
        ),
      (error: CatalogError) => error.code === 'STAGE_INVALID' && error.message.includes(digest),
    );
  });

  it('refuses a revoked digest, whatever its stage', () => {
    assert.throws(
      () =>
        planRelease(
          { service: 'web', digest, stage: 'production' },
          { latest: releasedAt('candidate'), revocation },
        ),
      (error: CatalogError) => error.code === 'REVOKED' && error.message.includes('CVE-2025-0001'),
    );
  });
});

describe('planRevoke', () => {
  it('revokes a released digest', () => {
    assert.deepEqual(
      planRevoke({ service: 'web', digest }, { latest: releasedAt('production'), revocation: undefined }),
      {
        kind: 'revoke',
      },
    );
  });

  it('changes nothing when the digest is already revoked', () => {
    assert.equal(planRevoke({ service: 'web', digest }, { latest: undefined, revocation }).kind, 'unchanged');
  });

  it('refuses a digest the service never released', () => {
    assert.throws(
      () => planRevoke({ service: 'web', digest }, { latest: undefined, revocation: undefined }),
      (error: CatalogError) => error.code === 'NOT_FOUND' && /web/.test(error.message),
    );
  });
});

describe('parseStage', () => {
  it('accepts the three stages and refuses anything else', () => {
    assert.equal(parseStage('accepted'), 'accepted');
    assert.throws(
      () => parseStage('prod'),
      (error: CatalogError) => error.code === 'STAGE_INVALID',
    );
  });
});
