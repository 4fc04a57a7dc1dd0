/**
 * `image.from` through the CLI: a base is built, signed and released to production; an app spec
 * that builds `from: base` locks its digest and reuses its layers unchanged. The repository is read
 * through file:// because runHerd blocks this process, and with it the fixture's HTTP server.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LayoutStore } from '../src/oci/layout-store.js';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd } from './support/cli.js';

const env = { HERD_KEY_PASSWORD: 'base test password' };

function specText(repo: FixtureRepo, body: string): string {
  return `apiVersion: herd/v1
${body}
  repositories:
    - uri: file://${repo.dir}/
      suites: [test]
      keyring: ${repo.keyringPath}
`;
}

describe('herd build from a released base image', () => {
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
        {
          name: 'libc-fake',
          version: '2.36',
          files: [{ path: 'lib/x86_64-linux-gnu/libc.so.6', content: 'libc' }],
        },
        {
          name: 'app-bin',
          version: '1.0',
          depends: 'libc-fake',
          files: [{ path: 'usr/bin/app', content: 'app', mode: 0o755 }],
        },
      ],
    });
    home = await freshHome();
  });

  after(async () => {
    await repo?.close();
  });

  it('locks the base release and builds on its layers', async () => {
    const baseDir = await writeSpecDir({
      'herd.yaml': specText(repo, 'service: base\nimage:\n  packages: [libc-fake]'),
    });
    const appDir = await writeSpecDir({
      'herd.yaml': specText(repo, 'service: app\nimage:\n  from: base@production\n  packages: [app-bin]'),
    });
    const built = runHerd(['build', baseDir, '--json'], { home });
    assert.equal(built.status, 0, built.err);
    const baseDigest = JSON.parse(built.out).digest as string;
    for (const args of [
      ['keys', 'generate'],
      ['sign', baseDigest],
      ['release', 'base', baseDigest, '--stage', 'production'],
    ]) {
      const step = runHerd(args, { home, env });
      assert.equal(step.status, 0, `${args.join(' ')}: ${step.err}`);
    }

    const app = runHerd(['build', appDir, '--json'], { home });

    assert.equal(app.status, 0, app.err);
    const lock = JSON.parse(await readFile(join(appDir, 'herd.lock'), 'utf8'));
    assert.equal(lock.base.digest, baseDigest);
    assert.deepEqual(
      lock.packages.map((p: { name: string }) => p.name),
      ['app-bin'],
    );
    const store = new LayoutStore(join(home, 'store'));
    const baseLayers = (await store.getManifest(baseDigest as `sha256:${string}`)).layers.map(
      (l) => l.digest,
    );
    const appLayers = (await store.getManifest(JSON.parse(app.out).digest)).layers.map((l) => l.digest);
    assert.deepEqual(appLayers.slice(0, baseLayers.length), baseLayers);
  });

  it('refuses to lock from a base that was never released', async () => {
    const appDir = await writeSpecDir({
      'herd.yaml': specText(repo, 'service: app2\nimage:\n  from: nobase@production\n  packages: [app-bin]'),
    });

    const lock = runHerd(['lock', appDir], { home });

    assert.notEqual(lock.status, 0);
    assert.match(lock.err, /nobase@production/);
  });

  it('refuses to lock from a revoked base', async () => {
    const catalog = JSON.parse(runHerd(['catalog', 'base', '--json'], { home }).out) as { digest: string }[];
    const revoke = runHerd(['revoke', 'base', catalog[0]!.digest, '--reason', 'test'], { home });
    const appDir = await writeSpecDir({
      'herd.yaml': specText(repo, 'service: app3\nimage:\n  from: base\n  packages: [app-bin]'),
    });
    await writeFile(join(appDir, 'unused'), '');

    const lock = runHerd(['lock', appDir], { home });

    assert.equal(revoke.status, 0, revoke.err);
    assert.notEqual(lock.status, 0);
    assert.match(lock.err, /base@production/);
  });
});
