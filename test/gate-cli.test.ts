/**
 * The gate in the pipeline, through the CLI: `herd build` gates by default and a failed gate stops
 * it with exit 1; `herd sign` refuses the failed image; `herd gate` reports in SARIF; `herd vulndb
 * update` refuses a malformed file and keeps the cache it had. The repository is read through
 * file:// because runHerd blocks this process, and with it the fixture's HTTP server.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd } from './support/cli.js';

const env = { HERD_KEY_PASSWORD: 'gate cli password' };

function specText(repo: FixtureRepo, packages: string[]): string {
  return `apiVersion: herd/v1
service: gated
image:
  suite: bookworm
  packages: [${packages.join(', ')}]
  repositories:
    - uri: file://${repo.dir}/
      suites: [test]
      keyring: ${repo.keyringPath}
run:
  entrypoint: [/usr/bin/hello]
ports: [8080]
health:
  http: { path: /healthz, port: 8080 }
`;
}

describe('the gate through the CLI', () => {
  let repo: FixtureRepo;
  let home: string;

  before(async () => {
    repo = await createAptRepo({
      dir: await freshHome('herd-repo-'),
      suites: [{ name: 'test' }],
      packages: [
        {
          name: 'base-files',
          version: '12.4',
          files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
        },
        { name: 'hello-bin', version: '1.0', files: [{ path: 'usr/bin/hello', content: 'hi', mode: 0o755 }] },
        {
          name: 'openssh-server',
          version: '1:9.2p1-2',
          files: [{ path: 'usr/sbin/sshd', content: 'sshd', mode: 0o755 }],
        },
      ],
    });
    home = await freshHome();
    assert.equal(runHerd(['keys', 'generate'], { home, env }).status, 0);
  });

  after(async () => {
    await repo?.close();
  });

  it('stops herd build on a failed gate, and herd sign refuses the image', async () => {
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, ['hello-bin', 'openssh-server']) });

    const build = runHerd(['build', dir, '--json'], { home });
    const digest = JSON.parse(build.out).digest as string;
    const sign = runHerd(['sign', digest], { home, env });
    const sarif = runHerd(['gate', digest, '--spec', dir, '--format', 'sarif'], { home });

    assert.equal(build.status, 1, build.err);
    assert.equal(JSON.parse(build.out).gate.passed, false);
    assert.equal(sign.status, 1);
    assert.match(sign.err, /failed the gate/);
    assert.equal(sarif.status, 1);
    const log = JSON.parse(sarif.out);
    assert.equal(log.version, '2.1.0');
    assert.ok(log.runs[0].results.some((r: { ruleId: string }) => r.ruleId === 'HERD-H004'));
  });

  it('leaves a failed image unnamed and quarantined, and names it only once a gate passes', async () => {
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, ['hello-bin', 'openssh-server']) });
    const quarantineHome = await freshHome();

    const build = runHerd(['build', dir, '--json'], { home: quarantineHome });
    const digest = JSON.parse(build.out).digest as string;
    const byName = runHerd(['image', 'inspect', 'gated:latest'], { home: quarantineHome });
    const listed = runHerd(['image', 'ls'], { home: quarantineHome });
    const waived = await writeSpecDir({
      'herd.yaml': `${specText(repo, ['hello-bin', 'openssh-server'])}gate:
  waivers:
    - rule: HERD-H004
      reason: this test names the image once a later gate passes
      owner: herd-tests
      expires: 2099-12-31
`,
    });
    const regate = runHerd(['gate', digest, '--spec', waived], { home: quarantineHome });
    const listedAfter = runHerd(['image', 'ls'], { home: quarantineHome });

    assert.equal(build.status, 1, build.err);
    assert.equal(JSON.parse(build.out).quarantined, 'gate-failed');
    assert.notEqual(byName.status, 0, 'no name points at an image whose gate failed');
    assert.match(listed.out, new RegExp(`<none>\\s+${digest}.*quarantined: gate failed \\(built as gated:`));
    assert.equal(regate.status, 0, regate.out + regate.err);
    assert.doesNotMatch(listedAfter.out, /quarantined/);
    assert.match(listedAfter.out, new RegExp(`gated:\\S+\\s+${digest}`));
  });

  it('leaves an image built with --no-gate unnamed until herd gate passes', async () => {
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, ['hello-bin']) });
    const noGateHome = await freshHome();

    const build = runHerd(['build', dir, '--no-gate', '--json'], { home: noGateHome });
    const built = JSON.parse(build.out) as { digest: string; refName: string; quarantined?: string };
    const before = runHerd(['image', 'inspect', built.refName], { home: noGateHome });
    const gate = runHerd(['gate', built.digest, '--spec', dir], { home: noGateHome });
    const after = runHerd(['image', 'inspect', built.refName], { home: noGateHome });

    assert.equal(build.status, 0, build.err);
    assert.equal(built.quarantined, 'not-gated');
    assert.notEqual(before.status, 0);
    assert.equal(gate.status, 0, gate.out + gate.err);
    assert.equal(after.status, 0, after.err);
    assert.equal(JSON.parse(after.out).digest, built.digest);
  });

  it('builds, gates and signs a clean image', async () => {
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, ['hello-bin']) });

    const build = runHerd(['build', dir, '--json'], { home });
    const sign = runHerd(['sign', JSON.parse(build.out).digest], { home, env });

    assert.equal(build.status, 0, build.err);
    assert.equal(sign.status, 0, sign.err);
  });

  it('keeps the vulnerability cache when an update reads a malformed file', async () => {
    const good = join(home, 'tracker.json');
    const bad = join(home, 'broken.json');
    await writeFile(
      good,
      JSON.stringify({
        openssh: {
          'CVE-2024-0001': {
            releases: { bookworm: { status: 'open', repositories: {}, urgency: 'low' } },
          },
        },
      }),
    );
    await writeFile(bad, '{"openssh": {"CVE-2024-0002": {"releases": ');
    const first = runHerd(['vulndb', 'update', '--from', good], { home });
    const cache = await readFile(join(home, 'vulndb', 'vulndb.ndjson'));

    const second = runHerd(['vulndb', 'update', '--from', bad], { home });

    assert.equal(first.status, 0, first.err);
    assert.notEqual(second.status, 0);
    assert.match(second.err, /broken\.json/);
    assert.deepEqual(await readFile(join(home, 'vulndb', 'vulndb.ndjson')), cache);
  });
});
