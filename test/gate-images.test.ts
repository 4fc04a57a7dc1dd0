/**
 * Images built to fail (issue 4): fixture specs are locked and built against a real, signed local
 * apt repository (dpkg-deb builds the packages), then gated. Each bad image fails with the rule it
 * breaks; a clean one passes `strict`. Secrets are made at run time, never committed.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatLock } from '../src/builder/lock-file.js';
import { gateImage, storeVerdict } from '../src/gate/evaluate-gate.js';
import { formatJsonReport } from '../src/gate/reports/json-report.js';
import { formatSarifReport } from '../src/gate/reports/sarif-report.js';
import { formatTextReport } from '../src/gate/reports/text-report.js';
import { type Verdict, verdictArtifactType } from '../src/gate/verdict.js';
import { loadVulnDb, updateVulnDb } from '../src/gate/vulns/index.js';
import { herdHome } from '../src/herd-home.js';
import { GateSection } from '../src/specfile/gate-section.js';
import { createAptRepo, type FixturePackage, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, type LockedBuild, lockAndBuild, writeSpecDir } from './support/build-harness.js';

const packages: FixturePackage[] = [
  {
    name: 'base-files',
    version: '12.4',
    files: [{ path: 'usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\n' }],
  },
  {
    name: 'libc-fake',
    version: '2.36-9',
    source: 'glibc',
    files: [{ path: 'lib/x86_64-linux-gnu/libc.so.6', content: 'libc' }],
  },
  {
    name: 'hello-bin',
    version: '2.0-1',
    depends: 'libc-fake',
    files: [{ path: 'usr/bin/hello', content: 'hello\n', mode: 0o755 }],
  },
  {
    name: 'openssh-server',
    version: '1:9.2p1-2',
    source: 'openssh',
    depends: 'libc-fake',
    files: [
      { path: 'usr/sbin/sshd', content: 'sshd\n', mode: 0o755 },
      { path: 'etc/ssh/sshd_config', content: 'PermitRootLogin no\n' },
    ],
  },
  {
    name: 'suid-tool',
    version: '1.0-1',
    depends: 'libc-fake',
    files: [{ path: 'usr/bin/suid-tool', content: 'escalate\n', mode: 0o4755 }],
  },
];

/** The options every fixture spec shares: the fixture repository, health on a declared port. */
function specText(repo: FixtureRepo, body: { packages: string[]; user?: number; extra?: string }): string {
  return `apiVersion: herd/v1
service: gated
image:
  suite: bookworm
  suites: [test]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [${body.packages.join(', ')}]
run:
  entrypoint: [/usr/bin/hello]
${body.user === undefined ? '' : `  user: ${body.user}\n`}ports: [8080]
health:
  http: { path: /healthz, port: 8080 }
${body.extra ?? ''}`;
}

function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

const now = new Date('2024-06-02T00:00:00Z');
const freshVulndb = {
  findings: [],
  age: { days: 1, since: '2024-06-01T00:00:00Z', basis: 'data-date' as const },
};

/** Gates a build the way `herd build` will: with its spec, its gate section and its lock. */
async function gate(built: LockedBuild, options: { profile?: 'baseline' | 'strict' } = {}): Promise<Verdict> {
  return gateImage(built.store, built.image.digest, {
    spec: built.loaded.spec,
    gate: built.loaded.spec.gate,
    lockFile: formatLock(built.lock),
    vulnerabilities: freshVulndb,
    now,
    ...options,
  });
}

function failingRules(verdict: Verdict): string[] {
  return [...new Set(verdict.findings.filter((f) => f.fails).map((f) => f.rule))].sort();
}

describe('images built to fail the gate', () => {
  let repo: FixtureRepo;
  let home: string;
  const build = async (files: Record<string, string>) => {
    const specDir = await writeSpecDir(files);
    return lockAndBuild(specDir, { home });
  };

  before(async () => {
    repo = await createAptRepo({
      dir: await freshHome('herd-gate-repo-'),
      suites: [{ name: 'test' }],
      packages,
    });
    home = await freshHome('herd-gate-home-');
  });

  after(async () => {
    await repo?.close();
  });

  it('fails an image with openssh-server on HERD-H004', async () => {
    const built = await build({ 'herd.yaml': specText(repo, { packages: ['hello-bin', 'openssh-server'] }) });

    const verdict = await gate(built);

    assert.equal(verdict.passed, false);
    assert.deepEqual(failingRules(verdict), ['HERD-H004']);
    assert.equal(
      verdict.findings[0]?.kind === 'hardening' && verdict.findings[0].location?.package,
      'openssh-server',
    );
  });

  it('fails an image with a setuid binary from a package on HERD-H002, unless the spec allows its path', async () => {
    const spec = specText(repo, { packages: ['hello-bin', 'suid-tool'] });
    const built = await build({ 'herd.yaml': spec });
    const allowed = await build({ 'herd.yaml': `${spec}gate:\n  allowSetuid: [/usr/bin/suid-tool]\n` });

    const verdict = await gate(built);

    assert.deepEqual(failingRules(verdict), ['HERD-H002']);
    const finding = verdict.findings.find((f) => f.rule === 'HERD-H002');
    assert.equal(finding?.kind === 'hardening' && finding.location?.path, '/usr/bin/suid-tool');
    assert.equal((await gate(allowed)).passed, true);
  });

  it('fails an image with a PEM key and an npm token in its app files, and never shows them', async () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    }) as string;
    const token = `npm_${randomAlnum(36)}`;
    const built = await build({
      'herd.yaml': specText(repo, {
        packages: ['hello-bin'],
        extra: 'files:\n  - src: key.pem\n    dst: /app/key.pem\n  - src: npmrc\n    dst: /app/.npmrc\n',
      }),
      'key.pem': key,
      npmrc: `registry=https://npm.example.internal/\n//npm.example.internal/:_authToken=${token}\n`,
    });

    const verdict = await gate(built);

    assert.deepEqual(failingRules(verdict), ['HERD-S001', 'HERD-S008']);
    assert.deepEqual(
      verdict.findings
        .filter((f) => f.kind === 'secret')
        .map((f) => (f.kind === 'secret' ? [f.location.path, f.location.line] : [])),
      [
        ['/app/key.pem', 1],
        ['/app/.npmrc', 2],
      ],
    );
    const keyBody = key.split('\n')[1] ?? '';
    for (const report of [formatJsonReport(verdict), formatSarifReport(verdict), formatTextReport(verdict)]) {
      assert.ok(!report.includes(token.slice(4, 16)), 'no part of the npm token');
      assert.ok(!report.includes(keyBody.slice(0, 16)), 'no part of the key');
    }
  });

  it('fails an image that runs as root on HERD-H001', async () => {
    const built = await build({ 'herd.yaml': specText(repo, { packages: ['hello-bin'], user: 0 }) });

    const verdict = await gate(built);

    assert.deepEqual(failingRules(verdict), ['HERD-H001']);
  });

  describe('a clean image', () => {
    let built: LockedBuild;

    before(async () => {
      built = await build({
        'herd.yaml': specText(repo, {
          packages: ['hello-bin'],
          extra:
            'files:\n  - src: app.txt\n    dst: /app/app.txt\ngate:\n  profile: strict\n  budget: { packages: 5, sizeMB: 1 }\n',
        }),
        'app.txt': 'nothing to see\n',
      });
    });

    it('passes strict, with every package from a signed suite and a file manifest that matches', async () => {
      const verdict = await gate(built);

      assert.equal(verdict.profile, 'strict');
      assert.equal(verdict.passed, true, formatTextReport(verdict));
      assert.deepEqual(
        verdict.findings.map((f) => f.rule),
        [],
      );
      assert.ok(verdict.summary.secretScan.scanned > 0);
    });

    it('is stored with the image as a verdict referrer', async () => {
      const verdict = await gate(built);

      await storeVerdict(built.store, built.image.digest, verdict);

      const referrers = await built.store.referrers(built.image.digest, {
        artifactType: verdictArtifactType,
      });
      assert.ok(referrers.length >= 1);
    });

    it('fails once the tracker knows a high-urgency fix for one of its packages, and passes with a waiver for it', async () => {
      const trackerFile = join(home, 'tracker.json');
      await writeFile(
        trackerFile,
        JSON.stringify({
          'hello-bin': {
            'CVE-2024-4242': {
              description: 'hello says too much',
              releases: { bookworm: { status: 'resolved', fixed_version: '2.0-2', urgency: 'high' } },
            },
          },
        }),
      );
      await updateVulnDb(herdHome({ HERD_HOME: home }), { from: trackerFile, now });
      const vulndb = await loadVulnDb(herdHome({ HERD_HOME: home }));
      const options = { spec: built.loaded.spec, lockFile: formatLock(built.lock), vulndb, now };
      const waiver = {
        cve: 'CVE-2024-4242',
        reason: 'fix is rolling out',
        owner: 'app-team',
        expires: '2024-06-30',
      };

      const failed = await gateImage(built.store, built.image.digest, {
        ...options,
        gate: built.loaded.spec.gate,
      });
      const waived = await gateImage(built.store, built.image.digest, {
        ...options,
        gate: GateSection.parse({ ...built.loaded.spec.gate, waivers: [waiver] }),
      });

      assert.deepEqual(failingRules(failed), ['CVE-2024-4242']);
      assert.equal(failed.vulndb.stale, false);
      assert.equal(waived.passed, true);
      assert.deepEqual(
        waived.waived.map((w) => w.finding.rule),
        ['CVE-2024-4242'],
      );
    });

    it('says a digest that is not in the store is unknown', async () => {
      const unknown = `sha256:${'0'.repeat(64)}` as const;

      await assert.rejects(gateImage(built.store, unknown, { now }), { code: 'IMAGE_UNKNOWN' });
    });
  });
});
