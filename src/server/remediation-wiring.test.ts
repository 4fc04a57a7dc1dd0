import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { writeTrackerJson } from '../../test/support/tracker-json.js';
import type { FakeClock } from '../common/clock.test-support.js';
import type { Logger } from '../common/index.js';
import type { Digest } from '../oci/index.js';
import { buildAndGate, PipelineError, type SpecInputs } from '../pipeline/index.js';
import {
  type SupplyChainHome,
  supplyChainHome,
  tinyArchive,
  tinySpec,
} from '../pipeline/supply-chain.test-support.js';
import { openStateDb } from '../state/index.js';
import { openTrustedSpec, updateCheck } from './remediation-wiring.js';

describe("the control plane's update check", () => {
  let repo: FixtureRepo;
  let home: SupplyChainHome;
  let clock: FakeClock;
  let spec: SpecInputs;
  let deployed: Digest;
  const warnings: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (_meta, message) => warnings.push(message), error() {} };

  before(async () => {
    repo = await tinyArchive();
    home = await supplyChainHome();
    clock = home.parts.clock as FakeClock;
    spec = await tinySpec(repo);
    deployed = (await buildAndGate(spec, home.parts, { gate: true, herdVersion: 'test' })).image.digest;
  });

  after(async () => {
    await home?.close();
    await repo?.close();
  });

  it('fetches the vulnerability data from HERD_VULNDB_URL, then reports the rules a changed policy fails', async () => {
    const db = openStateDb(home.home.stateDb);
    const vulndbUrl = await writeTrackerJson([
      { cve: 'CVE-2026-0001', source: 'tiny-bin', codename: 'test', fixedVersion: '1.1', urgency: 'high' },
    ]);
    const check = updateCheck({
      store: home.store,
      state: home.state,
      home: home.home,
      db,
      clock,
      log,
      vulndbUrl,
    });
    const before = await check(spec, { service: 'tiny', digest: deployed });
    await writeFile(
      spec.loaded.path,
      `${await readFile(spec.loaded.path, 'utf8')}gate:\n  budget: { packages: 1 }\n`,
    );
    clock.advance(1000);

    const after = await check(await openTrustedSpec(spec.loaded.dir), { service: 'tiny', digest: deployed });

    assert.equal(
      home.entries('vulndb-update').length,
      1,
      'fetched once: the data is younger than the interval',
    );
    assert.deepEqual(
      before.findings.map((finding) => finding.kind),
      ['vulnerability'],
    );
    assert.deepEqual(
      after.findings.map((finding) => [finding.kind, finding.rules]),
      [
        ['vulnerability', undefined],
        ['policy', ['HERD-H011']],
      ],
    );
    assert.notEqual(after.target, before.target, 'a run for the policy is another target');
    assert.deepEqual(warnings, []);
    db.close();
  });

  it('refuses to open a registered spec in a folder every user can write to: herd would sign what another user put there', async () => {
    const shared = await mkdtemp(join(tmpdir(), 'herd-shared-spec-'));
    await writeFile(join(shared, 'herd.yaml'), await readFile(spec.loaded.path));
    await chmod(shared, 0o777);

    try {
      await assert.rejects(
        openTrustedSpec(shared),
        (error: unknown) => error instanceof PipelineError && error.code === 'SPEC_UNTRUSTED',
      );
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });
});
