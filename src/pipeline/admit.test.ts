/**
 * admitImage on a real store and herd.db in a temporary HERD_HOME: what it admits, and that each
 * refusal is thrown as ADMISSION_REFUSED and journaled once, with its code and who asked.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FleetTemplate } from '../fleet/types.js';
import type { Digest } from '../oci/types.js';
import { TrustError } from '../trust/errors.js';
import { admitImage } from './admit.js';
import { type FleetHome, fleetHome, fleetTemplate, service, signedRun } from './fleet-home.test-support.js';

describe('admitImage', () => {
  let h: FleetHome;
  const admit = (digest: Digest, options: { template?: FleetTemplate; actor?: string } = {}) =>
    admitImage(
      { store: h.store, state: h.state, home: h.home },
      { service, digest, template: options.template ?? fleetTemplate, ...options },
    );

  /** Refused with ADMISSION_REFUSED, and the one journal entry that says why. */
  async function assertRefused(admission: Promise<unknown>, code: string) {
    await assert.rejects(admission, (error: unknown) => {
      assert.ok(error instanceof TrustError);
      assert.equal(error.code, 'ADMISSION_REFUSED');
      return true;
    });
    const refusals = h.entries('admission-refused');
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]?.details.code, code);
    return refusals[0];
  }

  beforeEach(async () => {
    h = await fleetHome();
  });
  afterEach(async () => {
    await h.close();
  });

  it('admits a digest the trusted key signed with a passing verdict and its run template, released and not revoked', async () => {
    const digest = await h.admissibleImage('v1');
    const before = h.state.journal.list().length;

    const decision = await admit(digest);

    assert.deepEqual(decision, { admitted: true, stage: 'candidate', profile: 'strict' });
    assert.equal(h.state.journal.list().length, before, 'an admission journals nothing');
  });

  it('refuses an unsigned digest, naming who asked in the journal', async () => {
    const digest = await h.writeImage('v1');

    const refusal = await assertRefused(admit(digest, { actor: 'token:ci:1' }), 'UNSIGNED');

    assert.equal(refusal?.actor, 'token:ci:1');
    assert.equal(refusal?.service, service);
    assert.equal(refusal?.digest, digest);
  });

  it('refuses a digest signed, attested and passed by a key HERD_HOME does not trust', async () => {
    const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const digest = await h.writeImage('v1');
    await h.sign(digest, { key: attacker.privateKey });

    await assertRefused(admit(digest), 'UNSIGNED');
  });

  it('refuses a revoked digest, journaled as the control plane when nobody asked', async () => {
    const digest = await h.admissibleImage('v1');
    h.state.catalog.revoke(service, digest, { reason: 'CVE-2026-0001', actor: 'local:alice' });

    const refusal = await assertRefused(admit(digest), 'REVOKED');

    assert.equal(refusal?.actor, 'local:control-plane');
    assert.match(String(refusal?.details.reason), /CVE-2026-0001/);
  });

  it('refuses a digest whose signed verdict says the gate failed', async () => {
    const digest = await h.writeImage('v1');
    await h.sign(digest, { passed: false });
    await h.release(digest);

    await assertRefused(admit(digest), 'GATE_FAILED');
  });

  it('refuses a digest signed and gated but never released for the service', async () => {
    const digest = await h.writeImage('v1');
    await h.sign(digest);

    await assertRefused(admit(digest), 'NOT_RELEASED');
  });

  it('refuses a rollout that would run the digest otherwise than its signed run template', async () => {
    const digest = await h.admissibleImage('v1');
    const asRoot: FleetTemplate = { ...fleetTemplate, run: { ...signedRun, writableRoot: true } };

    const refusal = await assertRefused(admit(digest, { template: asRoot }), 'TEMPLATE_MISMATCH');

    assert.match(String(refusal?.details.reason), /writableRoot/);
  });

  it('refuses a fleet template stored before run templates, which cannot be compared', async () => {
    const digest = await h.admissibleImage('v1');
    const old = { ...fleetTemplate, version: 0 } as unknown as FleetTemplate;

    await assertRefused(admit(digest, { template: old }), 'TEMPLATE_MISMATCH');
  });
});
