import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FixtureRepo } from '../../test/fixtures/apt-repo.js';
import type { FakeClock } from '../common/clock.test-support.js';
import { latestVerdict } from '../gate/stored-verdict.js';
import { verdictArtifactType } from '../gate/verdict.js';
import type { Digest } from '../oci/index.js';
import { loadSpec } from '../specfile/load.js';
import type { LoadedSpec } from '../specfile/types.js';
import { buildAndGate } from './build-and-gate.js';
import {
  failingRulesUnderPolicy,
  type PolicyJudge,
  PolicyRecheck,
  policyFingerprint,
} from './policy-recheck.js';
import { type SupplyChainHome, supplyChainHome, tinyArchive, tinySpec } from './supply-chain.test-support.js';

const dayMs = 86_400_000;

describe('PolicyRecheck', () => {
  let repo: FixtureRepo;
  let home: SupplyChainHome;
  let clock: FakeClock;
  /** base-files and tiny-bin, gated under the default policy: passes. */
  let tiny: Digest;
  /** With openssh-server, which fails HERD-H004 unless a waiver covers it; built ungated. */
  let withSshd: Digest;

  before(async () => {
    repo = await tinyArchive();
    home = await supplyChainHome();
    clock = home.parts.clock as FakeClock;
    tiny = (await buildAndGate(await tinySpec(repo), home.parts, { gate: true, herdVersion: 'test' })).image
      .digest;
    const ungated = await buildAndGate(await tinySpec(repo, ['tiny-bin', 'openssh-server']), home.parts, {
      gate: false,
      herdVersion: 'test',
    });
    withSshd = ungated.image.digest;
    clock.advance(60_000);
  });

  after(async () => {
    await home?.close();
    await repo?.close();
  });

  /** The tiny spec again, with `gate:` lines of its own (YAML, indented under `gate:`). */
  async function specWithGate(gate: string, packages = ['tiny-bin']): Promise<LoadedSpec> {
    const built = await tinySpec(repo, packages);
    const dir = await mkdtemp(join(tmpdir(), 'herd-spec-'));
    const yaml = await readFile(built.loaded.path, 'utf8');
    await writeFile(join(dir, 'herd.yaml'), `${yaml}gate:\n${gate}`);
    return loadSpec(dir);
  }

  function counting(): { judge: PolicyJudge; calls: Digest[] } {
    const calls: Digest[] = [];
    return {
      calls,
      judge: (store, request) => {
        calls.push(request.digest);
        return failingRulesUnderPolicy(store, request);
      },
    };
  }

  const sshdWaiver = `  waivers:
    - rule: HERD-H004
      reason: the jump host is being retired
      owner: platform-team
      expires: 2026-01-10
`;

  it('finds nothing under the policy the image passed, and judges that pair only once', async () => {
    const { judge, calls } = counting();
    const recheck = new PolicyRecheck(judge);
    const spec = (await tinySpec(repo)).loaded;
    const now = new Date(clock.now());

    const first = await recheck.finding(home.store, { digest: tiny, spec, now });
    const second = await recheck.finding(home.store, {
      digest: tiny,
      spec,
      now: new Date(now.getTime() + 5000),
    });

    assert.equal(first, undefined);
    assert.equal(second, undefined);
    assert.deepEqual(calls, [tiny]);
  });

  it('names the rules a stricter policy fails, once, and keeps reporting them without judging again', async () => {
    const { judge, calls } = counting();
    const recheck = new PolicyRecheck(judge);
    const lenient = (await tinySpec(repo)).loaded;
    const strict = await specWithGate('  budget: { packages: 1 }\n');
    const now = new Date(clock.now());
    await recheck.finding(home.store, { digest: tiny, spec: lenient, now });

    const found = await recheck.finding(home.store, { digest: tiny, spec: strict, now });
    clock.advance(30_000);
    const again = await recheck.finding(home.store, {
      digest: tiny,
      spec: strict,
      now: new Date(clock.now()),
    });

    assert.equal(found?.kind, 'policy');
    assert.deepEqual(found?.rules, ['HERD-H011']);
    assert.equal(found?.actionable, true);
    assert.equal(found?.service, 'tiny');
    assert.equal(found?.digest, tiny);
    assert.match(found?.summary ?? '', /1 rule now fails: HERD-H011/);
    assert.deepEqual(calls, [tiny, tiny]);
    assert.deepEqual(again?.rules, ['HERD-H011']);
    assert.equal(again?.visibleAt, now.toISOString(), 'the finding started when the rules first failed');
    assert.equal(again?.detectedAt, new Date(clock.now()).toISOString());
  });

  it('stores no verdict, journals nothing and leaves the image named', async () => {
    const strict = await specWithGate('  profile: strict\n  budget: { packages: 1 }\n');
    const verdicts = await home.store.referrers(tiny, { artifactType: verdictArtifactType });
    const latest = await latestVerdict(home.store, tiny);
    const journaled = home.state.journal.list().length;

    const found = await new PolicyRecheck().finding(home.store, {
      digest: tiny,
      spec: strict,
      now: new Date(clock.now()),
    });

    assert.ok(found?.rules?.includes('HERD-H011'));
    assert.deepEqual(await home.store.referrers(tiny, { artifactType: verdictArtifactType }), verdicts);
    assert.deepEqual(await latestVerdict(home.store, tiny), latest);
    assert.equal(latest?.passed, true);
    assert.equal(home.state.journal.list().length, journaled);
    assert.equal(await home.store.quarantined(tiny), undefined);
  });

  it('judges again when a waiver expires, though the spec did not change', async () => {
    const { judge, calls } = counting();
    const recheck = new PolicyRecheck(judge);
    const spec = await specWithGate(sshdWaiver, ['tiny-bin', 'openssh-server']);
    const waived = await recheck.finding(home.store, { digest: withSshd, spec, now: new Date(clock.now()) });

    const lapsed = new Date(Date.UTC(2026, 0, 11));
    const found = await recheck.finding(home.store, { digest: withSshd, spec, now: lapsed });

    assert.equal(waived, undefined);
    assert.deepEqual(found?.rules, ['HERD-H004']);
    assert.equal(found?.visibleAt, lapsed.toISOString());
    assert.deepEqual(calls, [withSshd, withSshd]);
  });

  it('judges a new digest under the same policy, and forgets the old one', async () => {
    const { judge, calls } = counting();
    const recheck = new PolicyRecheck(judge);
    const spec = (await tinySpec(repo)).loaded;
    const now = new Date(clock.now());

    const before = await recheck.finding(home.store, { digest: withSshd, spec, now });
    const replaced = await recheck.finding(home.store, { digest: tiny, spec, now });

    assert.deepEqual(before?.rules, ['HERD-H004']);
    assert.equal(replaced, undefined);
    assert.deepEqual(calls, [withSshd, tiny]);
  });

  it('passes an error judging the image through, and remembers nothing of it', async () => {
    const recheck = new PolicyRecheck();
    const spec = (await tinySpec(repo)).loaded;
    const unknown = `sha256:${'0'.repeat(64)}` as Digest;

    await assert.rejects(recheck.finding(home.store, { digest: unknown, spec, now: new Date(clock.now()) }), {
      code: 'IMAGE_UNKNOWN',
    });
    await assert.rejects(recheck.finding(home.store, { digest: unknown, spec, now: new Date(clock.now()) }), {
      code: 'IMAGE_UNKNOWN',
    });
  });
});

describe('policyFingerprint', () => {
  it('changes with the gate section, with a waiver that lapses, and with the settings rules read', async () => {
    const repo = await tinyArchive();
    try {
      const spec = (await tinySpec(repo)).loaded.spec;
      const now = new Date(Date.UTC(2026, 0, 1));
      const waiver = {
        kind: 'rule' as const,
        rule: 'HERD-H004',
        reason: 'retiring',
        owner: 'platform-team',
        expires: '2026-01-10',
      };
      const waived = { ...spec, gate: { ...spec.gate, waivers: [waiver] } };

      assert.equal(policyFingerprint(spec, now), policyFingerprint({ ...spec }, now));
      assert.notEqual(
        policyFingerprint(spec, now),
        policyFingerprint({ ...spec, gate: { ...spec.gate, profile: 'strict' } }, now),
      );
      assert.notEqual(policyFingerprint(waived, now), policyFingerprint(spec, now));
      assert.equal(
        policyFingerprint(waived, new Date(now.getTime() + 10 * dayMs)),
        policyFingerprint(spec, now),
      );
      assert.notEqual(
        policyFingerprint({ ...spec, run: { ...spec.run, writableRoot: true } }, now),
        policyFingerprint(spec, now),
      );
    } finally {
      await repo.close();
    }
  });

  it('reads a spec with env, ports and health as loaded, and changes with its health check', async () => {
    const repo = await tinyArchive();
    try {
      const tiny = (await tinySpec(repo)).loaded;
      const dir = await mkdtemp(join(tmpdir(), 'herd-spec-'));
      const served = `${await readFile(tiny.path, 'utf8')}env:
  GREETING: hello
  DATABASE_PASSWORD: { secret: true, required: true }
ports: [8080]
health:
  http: { path: /healthz, port: 8080 }
`;
      await writeFile(join(dir, 'herd.yaml'), served);
      const spec = (await loadSpec(dir)).spec;
      const now = new Date(Date.UTC(2026, 0, 1));

      const fingerprint = policyFingerprint(spec, now);

      assert.match(fingerprint, /^[0-9a-f]{64}$/);
      assert.notEqual(fingerprint, policyFingerprint(tiny.spec, now));
      const { health: _health, ...withoutHealth } = spec;
      assert.notEqual(policyFingerprint(withoutHealth, now), fingerprint);
    } finally {
      await repo.close();
    }
  });
});
