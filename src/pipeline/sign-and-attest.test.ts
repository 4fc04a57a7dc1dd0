import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FixtureRepo } from '../../test/fixtures/apt-repo.js';
import type { Digest } from '../oci/types.js';
import { requiredPredicateTypes } from '../trust/admission.js';
import { gateVerdictPredicateType } from '../trust/build-statements.js';
import { verifyImage } from '../trust/image-signatures.js';
import { localRepository } from '../trust/signed-identity.js';
import { LocalKeySigner } from '../trust/signer.js';
import { buildAndGate } from './build-and-gate.js';
import { gateStoredImage } from './gate.js';
import { signAndAttest, signability } from './sign-and-attest.js';
import { type SupplyChainHome, supplyChainHome, tinyArchive, tinySpec } from './supply-chain.test-support.js';

const signer = new LocalKeySigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
const identity = localRepository('tiny');

describe('signability and signAndAttest', () => {
  let repo: FixtureRepo;
  let home: SupplyChainHome;
  let digest: Digest;

  before(async () => {
    repo = await tinyArchive();
    home = await supplyChainHome();
    digest = (await buildAndGate(await tinySpec(repo), home.parts, { gate: false, herdVersion: 'test' }))
      .image.digest;
  });

  after(async () => {
    await home?.close();
    await repo?.close();
  });

  it('says an image is ungated until the gate passes it, then passed with that verdict', async () => {
    const before = await signability(home.store, digest);
    const verdict = await gateStoredImage(digest, home.parts);

    const after = await signability(home.store, digest);

    assert.deepEqual(before, { kind: 'ungated' });
    assert.deepEqual(after, { kind: 'passed', verdict });
  });

  it('says failed for an image whose latest verdict failed', async () => {
    const spec = await tinySpec(repo, ['tiny-bin', 'openssh-server']);
    const { image } = await buildAndGate(spec, home.parts, { gate: true, herdVersion: 'test' });

    const signable = await signability(home.store, image.digest);

    assert.equal(signable.kind, 'failed');
  });

  it('signs for the identity, attests the build and the verdict, and journals sign', async () => {
    const signable = await signability(home.store, digest);
    assert.equal(signable.kind, 'passed');

    const { signature, statements } = await signAndAttest(
      digest,
      { ...home.parts, signer },
      { identity, verdict: signable.verdict },
    );

    const verified = await verifyImage(home.store, digest, {
      publicKeys: [signer.publicKey],
      attestations: true,
      requiredPredicates: requiredPredicateTypes,
      identity,
    });
    assert.equal(signature.added.length, 1);
    assert.ok(verified.attestations.some((a) => a.predicateType === gateVerdictPredicateType));
    const [entry] = home.entries('sign');
    assert.equal(entry?.digest, digest);
    assert.equal(entry?.service, 'tiny');
    assert.equal(entry?.actor, home.state.actor);
    assert.deepEqual(entry?.details, {
      identity,
      signatures: 1,
      attestations: statements.map((s) => s.predicateType),
    });
  });

  it('signs again with the same key without a second signature, and journals that too', async () => {
    const signable = await signability(home.store, digest);
    assert.equal(signable.kind, 'passed');

    const { signature } = await signAndAttest(
      digest,
      { ...home.parts, signer },
      { identity, verdict: signable.verdict },
    );

    assert.equal(signature.added.length, 0);
    const entries = home.entries('sign');
    assert.equal(entries.length, 2);
    assert.equal(entries[1]?.details.signatures, 0);
  });
});
