import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { freePort, startDockerRegistry, type TestRegistry } from '../../test/support/docker-registry.js';
import { silentLogger } from '../common/index.js';
import { noCredentials } from '../oci/registry/credentials.js';
import type { Digest } from '../oci/types.js';
import { verifyImage } from '../trust/image-signatures.js';
import { LocalKeySigner } from '../trust/signer.js';
import { buildAndGate } from './build-and-gate.js';
import { pullForVerification, pullFromRegistry } from './pull.js';
import { pushToRegistry } from './push.js';
import { type SupplyChainHome, supplyChainHome, tinyArchive, tinySpec } from './supply-chain.test-support.js';

const signer = new LocalKeySigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);

describe('pushToRegistry, pullFromRegistry and pullForVerification against a real registry', () => {
  let repo: FixtureRepo;
  let registry: TestRegistry;
  let source: SupplyChainHome;
  let target: SupplyChainHome;
  let digest: Digest;

  before(async () => {
    repo = await tinyArchive();
    registry = await startDockerRegistry();
    source = await supplyChainHome();
    target = await supplyChainHome();
    digest = (await buildAndGate(await tinySpec(repo), source.parts, { gate: true, herdVersion: 'test' }))
      .image.digest;
  });

  after(async () => {
    await source?.close();
    await target?.close();
    await registry?.stop();
    await repo?.close();
  });

  it('signs for the destination, pushes, and journals the push with where it went', async () => {
    const destination = `${registry.host}/team/tiny:1`;

    const pushed = await pushToRegistry(
      digest,
      { ...source.parts, credentials: noCredentials, signer },
      { destination },
    );

    assert.ok(pushed.uploaded > 0);
    assert.deepEqual(source.steps.at(-1), `signed ${digest} for ${registry.host}/team/tiny`);
    const [entry] = source.entries('push');
    assert.equal(entry?.digest, digest);
    assert.equal(entry?.service, 'tiny');
    assert.deepEqual(entry?.details, {
      destination: 'team/tiny',
      registry: registry.host,
      uploaded: pushed.uploaded,
      skipped: pushed.skipped,
    });
  });

  it('pulls into another HERD_HOME with the same digest and the signature, and journals the pull', async () => {
    const reference = `${registry.host}/team/tiny:1`;

    const pulled = await pullFromRegistry(reference, { ...target.parts, credentials: noCredentials });

    assert.equal(pulled.digest, digest);
    await verifyImage(target.store, digest, {
      publicKeys: [signer.publicKey],
      identity: `${registry.host}/team/tiny`,
    });
    const [entry] = target.entries('pull');
    assert.equal(entry?.digest, digest);
    assert.deepEqual(entry?.details, { reference, refName: pulled.refName });
  });

  it('pulls for verification into a throwaway store, leaving HERD_HOME and the journal as they were', async () => {
    const index = await source.store.readIndex();
    const journaled = source.state.journal.list().length;

    const remote = await pullForVerification(`${registry.host}/team/tiny:1`, {
      credentials: noCredentials,
      logger: source.parts.logger,
    });
    await verifyImage(remote.store, remote.digest, { publicKeys: [signer.publicKey] });
    await remote.cleanup();

    assert.equal(remote.digest, digest);
    assert.notEqual(remote.store.root, source.store.root);
    await assert.rejects(access(remote.store.root));
    assert.deepEqual(await source.store.readIndex(), index);
    assert.equal(source.state.journal.list().length, journaled);
  });
});

describe('pullForVerification when the pull fails', () => {
  it('leaves no throwaway store behind', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'herd-tmp-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const nobody = `127.0.0.1:${await freePort()}/team/tiny:1`;

      await assert.rejects(pullForVerification(nobody, { credentials: noCredentials, logger: silentLogger }));

      assert.deepEqual(await readdir(tmp), []);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
