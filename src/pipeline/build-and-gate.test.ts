import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { latestVerdict } from '../gate/stored-verdict.js';
import { vulnDbPath } from '../gate/vulns/load.js';
import { buildAndGate } from './build-and-gate.js';
import { gateStoredImage } from './gate.js';
import { type SupplyChainHome, supplyChainHome, tinyArchive, tinySpec } from './supply-chain.test-support.js';
import { updateVulnerabilityData } from './vulndb-update.js';

const noVulnData = 'no vulnerability data: run herd vulndb update; the gate reports it as HERD-V002';

describe('buildAndGate, gateStoredImage and updateVulnerabilityData', () => {
  let repo: FixtureRepo;
  let home: SupplyChainHome;

  before(async () => {
    repo = await tinyArchive();
    home = await supplyChainHome();
  });

  after(async () => {
    await home?.close();
    await repo?.close();
  });

  it('locks when there is no lock, builds, gates, names the image and journals build then gate', async () => {
    const spec = await tinySpec(repo);

    const { image, lock, verdict } = await buildAndGate(spec, home.parts, {
      gate: true,
      herdVersion: 'test',
    });

    assert.equal(home.steps[0], 'no herd.lock yet: resolving tiny-bin');
    assert.deepEqual(
      lock.packages.map((p) => p.name),
      ['base-files', 'tiny-bin'],
    );
    assert.equal(verdict?.passed, true);
    assert.deepEqual(await latestVerdict(home.store, image.digest), verdict);
    assert.equal(await home.store.resolve(image.refName), image.digest);
    assert.deepEqual(
      home.state.journal.list().map((entry) => [entry.action, entry.service, entry.digest]),
      [
        ['build', 'tiny', image.digest],
        ['gate', 'tiny', image.digest],
      ],
    );
    const [build] = home.entries('build');
    assert.deepEqual(build?.details, {
      ref: image.refName,
      spec: spec.loaded.digest,
      packages: 2,
      layers: image.layers.map((l) => l.digest),
    });
    assert.equal(home.entries('gate')[0]?.details.passed, true);
    assert.deepEqual(home.warnings, [noVulnData]);
  });

  it('without the gate, journals the build only and leaves the image unnamed in the store', async () => {
    const spec = await tinySpec(repo);
    const journaled = home.state.journal.list().length;

    const { image, verdict } = await buildAndGate(spec, home.parts, { gate: false, herdVersion: 'test' });

    assert.equal(verdict, undefined);
    assert.ok(await home.store.quarantined(image.digest));
    assert.deepEqual(
      home.state.journal
        .list()
        .slice(journaled)
        .map((entry) => entry.action),
      ['build'],
    );
  });

  it('journals a failed gate as passed false and marks the image gate-failed, unnamed', async () => {
    const spec = await tinySpec(repo, ['tiny-bin', 'openssh-server']);
    const { image } = await buildAndGate(spec, home.parts, { gate: false, herdVersion: 'test' });

    const verdict = await gateStoredImage(image.digest, home.parts, { spec: spec.loaded });

    assert.equal(verdict.passed, false);
    assert.equal((await home.store.quarantined(image.digest))?.reason, 'gate-failed');
    const gated = home.entries('gate').filter((entry) => entry.digest === image.digest);
    assert.equal(gated.length, 1);
    assert.equal(gated[0]?.details.passed, false);
    assert.equal(gated[0]?.details.failing, verdict.summary.failing);
  });

  it('updates the vulnerability data, journals where it came from, and the gate then reads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herd-tracker-'));
    const from = join(dir, 'tracker.json');
    await writeFile(
      from,
      JSON.stringify({
        'tiny-bin': {
          'CVE-2026-0001': {
            releases: { bookworm: { status: 'resolved', fixed_version: '0.9', urgency: 'low' } },
          },
        },
      }),
    );
    const spec = await tinySpec(repo);
    const { image } = await buildAndGate(spec, home.parts, { gate: false, herdVersion: 'test' });
    home.warnings.length = 0;

    const update = await updateVulnerabilityData(home.parts, { from });
    await gateStoredImage(image.digest, home.parts, { spec: spec.loaded });

    assert.equal(update.path, vulnDbPath(home.home));
    assert.equal(update.meta.records, 1);
    const [entry] = home.entries('vulndb-update');
    assert.deepEqual(entry?.details, { source: update.meta.source, records: 1 });
    assert.deepEqual(home.warnings, []);
  });

  it("loads the vulnerability data while the image loads, and a damaged cache is still the gate's error, before the image's", async () => {
    const spec = await tinySpec(repo);
    const { image } = await buildAndGate(spec, home.parts, { gate: false, herdVersion: 'test' });
    const path = vulnDbPath(home.home);
    const intact = await readFile(path);
    const unknown = `sha256:${'e'.repeat(64)}` as const;
    const gates = home.entries('gate').length;
    try {
      await assert.rejects(gateStoredImage(unknown, home.parts, { spec: spec.loaded }), {
        code: 'IMAGE_UNKNOWN',
      });
      const damaged = Buffer.from(intact);
      const at = damaged.length - 3;
      damaged.writeUInt8(damaged.readUInt8(at) ^ 1, at);
      await writeFile(path, damaged);
      for (const digest of [image.digest, unknown]) {
        await assert.rejects(gateStoredImage(digest, home.parts, { spec: spec.loaded }), {
          code: 'VULNDB_CACHE_INVALID',
          message: /hashes to sha256:/,
        });
      }
      assert.equal(home.entries('gate').length, gates, 'a gate that failed to load journaled');
    } finally {
      await writeFile(path, intact);
    }
    assert.equal(
      (await gateStoredImage(image.digest, home.parts, { spec: spec.loaded })).image,
      image.digest,
    );
  });
});
