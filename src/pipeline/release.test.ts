import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CatalogError } from '../catalog/errors.js';
import { type FleetHome, fleetHome, service } from './fleet-home.test-support.js';
import { releaseImage, revokeImage } from './release.js';

describe('releaseImage and revokeImage', () => {
  let home: FleetHome;
  let parts: Parameters<typeof releaseImage>[0];

  beforeEach(async () => {
    home = await fleetHome();
    parts = { store: home.store, state: home.state, home: home.home };
  });

  afterEach(async () => {
    await home.close();
  });

  it('releases a digest a trusted key signed, and journals the release with its stage', async () => {
    const digest = await home.writeImage('one');
    await home.sign(digest);

    const outcome = await releaseImage(parts, { service, digest, stage: 'candidate' });

    assert.equal(outcome.kind, 'released');
    assert.equal(home.state.catalog.current(service, 'candidate')?.digest, digest);
    const [entry] = home.entries('release');
    assert.equal(entry?.digest, digest);
    assert.equal(entry?.service, service);
    assert.equal(entry?.actor, home.state.actor);
    assert.deepEqual(entry?.details, { stage: 'candidate', previousStage: null });
  });

  it('refuses an unsigned digest with UNSIGNED and journals nothing', async () => {
    const digest = await home.writeImage('unsigned');

    await assert.rejects(
      releaseImage(parts, { service, digest, stage: 'candidate' }),
      (error: unknown) => error instanceof CatalogError && error.code === 'UNSIGNED',
    );

    assert.deepEqual(home.entries('release'), []);
    assert.equal(home.state.catalog.current(service, 'candidate'), undefined);
  });

  it('refuses a digest signed only by a key HERD_HOME does not trust', async () => {
    const digest = await home.writeImage('stranger');
    await home.sign(digest, { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey });

    await assert.rejects(
      releaseImage(parts, { service, digest, stage: 'candidate' }),
      (error: unknown) => error instanceof CatalogError && error.code === 'UNSIGNED',
    );

    assert.deepEqual(home.entries('release'), []);
  });

  it('promotes a released digest to a further stage, and refuses to move it back', async () => {
    const digest = await home.writeImage('promoted');
    await home.sign(digest);
    await releaseImage(parts, { service, digest, stage: 'candidate' });

    const promoted = await releaseImage(parts, { service, digest, stage: 'production' });
    const back = releaseImage(parts, { service, digest, stage: 'accepted' });

    assert.equal(promoted.kind, 'released');
    await assert.rejects(
      back,
      (error: unknown) => error instanceof CatalogError && error.code === 'STAGE_INVALID',
    );
    assert.deepEqual(
      home.entries('release').map((entry) => entry.details),
      [
        { stage: 'candidate', previousStage: null },
        { stage: 'production', previousStage: 'candidate' },
      ],
    );
  });

  it('revokes a released digest with its reason, journals it once, and refuses to release it again', async () => {
    const digest = await home.writeImage('revoked');
    await home.sign(digest);
    await releaseImage(parts, { service, digest, stage: 'candidate' });

    const first = revokeImage(parts, { service, digest, reason: 'CVE-2026-0001' });
    const again = revokeImage(parts, { service, digest, reason: 'CVE-2026-0001' });
    const release = releaseImage(parts, { service, digest, stage: 'production' });

    assert.equal(first.kind, 'revoked');
    assert.equal(again.kind, 'unchanged');
    await assert.rejects(
      release,
      (error: unknown) => error instanceof CatalogError && error.code === 'REVOKED',
    );
    const entries = home.entries('revoke');
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.digest, digest);
    assert.deepEqual(entries[0]?.details, { reason: 'CVE-2026-0001', stage: 'candidate' });
  });

  it('refuses to revoke a digest the service never released, so a typo cannot pass for a revocation', async () => {
    const digest = await home.writeImage('never');

    assert.throws(
      () => revokeImage(parts, { service, digest, reason: 'typo' }),
      (error: unknown) => error instanceof CatalogError && error.code === 'NOT_FOUND',
    );
    assert.deepEqual(home.entries('revoke'), []);
  });
});
