/**
 * herd lock against archives that lie with valid signatures, through the real CLI: a mirror that
 * rolls a suite back to an older signed Release, one that serves a suite's signed Release as
 * another suite, a frozen (expired) suite, and a signed index that names packages as paths.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixturePackage, type FixtureSuite } from './fixtures/apt-repo.js';
import { runHerd } from './support/cli.js';

const packages: FixturePackage[] = [
  {
    name: 'base-files',
    version: '12.4',
    docs: false,
    files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
  },
  {
    name: 'hello-bin',
    version: '2.0-1',
    docs: false,
    files: [{ path: 'usr/bin/hello', content: 'hi', mode: 0o755 }],
  },
];
const june1 = new Date('2024-06-01T00:00:00Z');
const june2 = new Date('2024-06-02T00:00:00Z');

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A repository under `dir`, reached through file:// so that rewriting its files changes what herd reads. */
async function publish(
  dir: string,
  suites: FixtureSuite[],
  list: FixturePackage[] = packages,
): Promise<string> {
  await rm(join(dir, 'dists'), { recursive: true, force: true });
  const repo = await createAptRepo({ dir, suites, packages: list });
  await repo.close();
  return repo.keyringPath;
}

async function specDir(repoDir: string, suites: string[]): Promise<string> {
  const dir = await tempDir('herd-spec-');
  await writeFile(
    join(dir, 'herd.yaml'),
    `apiVersion: herd/v1
service: greeter
version: "1.0"
image:
  suite: bookworm
  suites: [${suites.join(', ')}]
  repositories:
    - uri: file://${repoDir}/
      suites: [${suites.join(', ')}]
      keyring: ${join(repoDir, 'keys', 'herd-test-archive-keyring.gpg')}
  packages: [hello-bin]
run:
  entrypoint: [/usr/bin/hello]
`,
  );
  return dir;
}

describe('herd lock refuses a rollback to an older signed Release', () => {
  let repoDir: string;
  let spec: string;
  let home: string;
  let lockedText: string;

  before(async () => {
    repoDir = await tempDir('herd-rollback-repo-');
    home = await tempDir('herd-rollback-home-');
    await publish(
      repoDir,
      [{ name: 'test', date: june2 }],
      packages.map((p) => (p.name === 'hello-bin' ? { ...p, version: '2.1-1' } : p)),
    );
    spec = await specDir(repoDir, ['test']);
    const locked = runHerd(['lock', spec], { home });
    assert.equal(locked.status, 0, locked.err);
    lockedText = await readFile(join(spec, 'herd.lock'), 'utf8');
    // The mirror now serves the older Release, signed by the same key, with the older version.
    await publish(repoDir, [{ name: 'test', date: june1 }]);
  });

  after(async () => {
    await rm(repoDir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  });

  it('remembers the accepted date in herd.lock and in HERD_HOME (mode 0600)', async () => {
    const lock = JSON.parse(lockedText);
    const dates = JSON.parse(await readFile(join(home, 'archive-dates.json'), 'utf8'));

    assert.equal(lock.suites[0].date, june2.toISOString());
    assert.deepEqual(dates.releases, [
      { repository: `file://${repoDir}/`, suite: 'test', date: june2.toISOString() },
    ]);
    assert.equal((await stat(join(home, 'archive-dates.json'))).mode & 0o777, 0o600);
  });

  it('refuses the older Release, naming the repository, suite and both dates, and leaves the lock alone', async () => {
    const result = runHerd(['lock', spec], { home });

    assert.equal(result.status, 2, result.out);
    assert.match(result.err, /refusing a rollback/);
    assert.ok(
      result.err.includes(`file://${repoDir}/ suite test serves a Release dated 2024-06-01T00:00:00.000Z`),
    );
    assert.match(result.err, /older than 2024-06-02T00:00:00\.000Z that herd accepted before/);
    assert.equal(await readFile(join(spec, 'herd.lock'), 'utf8'), lockedText);
  });

  it('reports the rollback from lock --check as a rollback, with exit status 3, not as an update', () => {
    const result = runHerd(['lock', spec, '--check'], { home });

    assert.equal(result.status, 3, result.err);
    assert.match(result.out, /^rollback: .* suite test serves a Release dated 2024-06-01/m);
    assert.match(result.out, /went back in time, not forward/);
    assert.doesNotMatch(result.out, /out of date|->|run herd lock/);
  });

  it('still refuses with the lock deleted, from what HERD_HOME remembers', async () => {
    const bare = await specDir(repoDir, ['test']);

    const result = runHerd(['lock', bare], { home });

    assert.equal(result.status, 2);
    assert.match(result.err, /refusing a rollback: .*\(.*archive-dates\.json\)/);
    assert.deepEqual(await readdir(bare), ['herd.yaml']);
  });

  it('takes the older Release with --allow-downgrade, says so, and keeps remembering the newer date', async () => {
    const result = runHerd(['lock', spec, '--allow-downgrade'], { home });

    assert.equal(result.status, 0, result.err);
    assert.match(
      result.err,
      /--allow-downgrade: taking an older Release: .* suite test serves a Release dated 2024-06-01/,
    );
    const lock = JSON.parse(await readFile(join(spec, 'herd.lock'), 'utf8'));
    assert.equal(lock.suites[0].date, june1.toISOString());
    assert.equal(lock.packages.find((p: { name: string }) => p.name === 'hello-bin').version, '2.0-1');
    const dates = JSON.parse(await readFile(join(home, 'archive-dates.json'), 'utf8'));
    assert.equal(dates.releases[0].date, june2.toISOString());
  });

  it('refuses the rollback in herd build too when it has to lock first, and builds nothing', async () => {
    const bare = await specDir(repoDir, ['test']);

    const result = runHerd(['build', bare], { home });

    assert.equal(result.status, 2);
    assert.match(result.err, /refusing a rollback/);
    const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests, []);
  });
});

describe('herd lock accepts a lock written before Release dates were remembered', () => {
  it('reads it, finds it current, and adds the dates on the next lock', async () => {
    const repoDir = await tempDir('herd-olderlock-repo-');
    const home = await tempDir('herd-olderlock-home-');
    await publish(repoDir, [{ name: 'test' }]);
    const spec = await specDir(repoDir, ['test']);
    assert.equal(runHerd(['lock', spec], { home }).status, 0);
    const lock = JSON.parse(await readFile(join(spec, 'herd.lock'), 'utf8'));
    for (const suite of lock.suites) delete suite.date;
    await writeFile(join(spec, 'herd.lock'), `${JSON.stringify(lock, null, 2)}\n`);

    const check = runHerd(['lock', spec, '--check'], { home: await tempDir('herd-olderlock-home2-') });
    const relock = runHerd(['lock', spec], { home });

    assert.equal(check.status, 0, check.err + check.out);
    assert.equal(relock.status, 0, relock.err);
    const rewritten = JSON.parse(await readFile(join(spec, 'herd.lock'), 'utf8'));
    assert.equal(rewritten.suites[0].date, '2024-06-01T00:00:00.000Z');
  });
});

describe('herd lock refuses a signed Release of one suite served as another', () => {
  it("refuses the main suite's signed index served as the security suite, naming both", async () => {
    const repoDir = await tempDir('herd-mixmatch-repo-');
    const home = await tempDir('herd-mixmatch-home-');
    await publish(repoDir, [
      { name: 'test' },
      { name: 'test-security', validUntil: new Date('2099-01-01T00:00:00Z') },
    ]);
    const spec = await specDir(repoDir, ['test', 'test-security']);
    assert.equal(runHerd(['lock', spec], { home }).status, 0);
    await rm(join(spec, 'herd.lock'));
    // The mirror swaps in the main suite's Release, which has no Valid-Until to dodge.
    await rm(join(repoDir, 'dists', 'test-security'), { recursive: true });
    await cp(join(repoDir, 'dists', 'test'), join(repoDir, 'dists', 'test-security'), { recursive: true });

    const result = runHerd(['lock', spec], { home });

    assert.equal(result.status, 2, result.out);
    assert.match(
      result.err,
      /dists\/test-security\/InRelease is signed for suite test, codename test, but suite test-security was asked for/,
    );
    assert.deepEqual(await readdir(spec), ['herd.yaml']);
  });
});

describe('herd lock refuses a frozen suite', () => {
  it('refuses a Release past its Valid-Until, naming it', async () => {
    const repoDir = await tempDir('herd-frozen-repo-');
    await publish(repoDir, [{ name: 'test', validUntil: new Date('2024-06-08T00:00:00Z') }]);
    const spec = await specDir(repoDir, ['test']);

    const result = runHerd(['lock', spec], { home: await tempDir('herd-frozen-home-') });

    assert.equal(result.status, 2);
    assert.match(result.err, /dists\/test\/InRelease expired at 2024-06-08T00:00:00\.000Z \(Valid-Until\)/);
    assert.deepEqual(await readdir(spec), ['herd.yaml']);
  });
});

describe('names from a signed index are data, not paths', () => {
  const sha = 'f'.repeat(64);
  const cases = [
    {
      what: 'a package named ../../x',
      stanza: `Package: ../../x\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/main/x/x_1.0_amd64.deb\nSize: 1\nSHA256: ${sha}\n`,
      names: 'Package "../../x"',
    },
    {
      what: 'a version with a slash',
      stanza: `Package: evil\nVersion: 1.0/../../../x\nArchitecture: amd64\nFilename: pool/main/e/evil.deb\nSize: 1\nSHA256: ${sha}\n`,
      names: 'Version "1.0/../../../x"',
    },
    {
      what: 'an architecture that climbs',
      stanza: `Package: evil\nVersion: 1.0\nArchitecture: ../amd64\nFilename: pool/main/e/evil.deb\nSize: 1\nSHA256: ${sha}\n`,
      names: 'Architecture "../amd64"',
    },
    {
      what: 'a Filename that climbs through percent-escapes',
      stanza: `Package: evil\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/%2e%2e/%2e%2e/etc/passwd\nSize: 1\nSHA256: ${sha}\n`,
      names: 'Filename "pool/%2e%2e/%2e%2e/etc/passwd"',
    },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.what} at herd lock, naming the field and value`, async () => {
      const repoDir = await tempDir('herd-names-repo-');
      const home = await tempDir('herd-names-home-');
      await publish(repoDir, [{ name: 'test', extraStanzas: [testCase.stanza] }]);
      const spec = await specDir(repoDir, ['test']);

      const result = runHerd(['lock', spec], { home });

      assert.equal(result.status, 2, result.out);
      assert.ok(result.err.includes(`has ${testCase.names}: `), result.err);
      assert.deepEqual(await readdir(spec), ['herd.yaml']);
      // Nothing of a refused resolution is remembered.
      assert.ok(!(await readdir(home)).includes('archive-dates.json'));
    });
  }

  it('refuses a lock edited to name a package ../../x before building anything', async () => {
    const repoDir = await tempDir('herd-lockname-repo-');
    const home = await tempDir('herd-lockname-home-');
    await publish(repoDir, [{ name: 'test' }]);
    const spec = await specDir(repoDir, ['test']);
    assert.equal(runHerd(['lock', spec], { home }).status, 0);
    const lock = JSON.parse(await readFile(join(spec, 'herd.lock'), 'utf8'));
    lock.packages[0].name = '../../x';
    await writeFile(join(spec, 'herd.lock'), JSON.stringify(lock));

    const result = runHerd(['build', spec], { home });

    assert.equal(result.status, 2);
    assert.match(
      result.err,
      /herd\.lock: packages\.0\.name: "\.\.\/\.\.\/x": expected a Debian package name/,
    );
    const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests, []);
  });
});
