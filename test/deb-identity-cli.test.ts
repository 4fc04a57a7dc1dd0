/**
 * The .deb says who it is, through the real CLI: a signed index that lists a package as amd64
 * whose .deb's own control file says Architecture: all, and a herd.lock edited to another sha256
 * with the same version. herd build must stop, name the .deb and the field or digest, and leave no
 * image in the store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAptRepo, type FixturePackage } from './fixtures/apt-repo.js';
import { buildDeb, dirEntry, fileEntry } from './fixtures/deb-builder.js';
import { runHerd } from './support/cli.js';

const baseFiles: FixturePackage = {
  name: 'base-files',
  version: '12.4',
  docs: false,
  files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
};

async function specFor(repoDir: string, keyring: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-identity-spec-'));
  await writeFile(
    join(dir, 'herd.yaml'),
    `apiVersion: herd/v1
service: greeter
version: "1.0"
image:
  suite: bookworm
  suites: [test]
  repositories:
    - uri: file://${repoDir}/
      suites: [test]
      keyring: ${keyring}
  packages: [hello-bin]
run:
  entrypoint: [/usr/bin/hello]
`,
  );
  return dir;
}

describe('herd build holds each .deb to its lock entry', () => {
  const dirs: string[] = [];
  const temp = async (prefix: string) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  describe('a signed index that lists an amd64 package whose .deb says Architecture: all', () => {
    let spec: string;
    let home: string;

    before(async () => {
      const rawDeb = await buildDeb({
        control: 'Package: hello-bin\nVersion: 2.0-1\nArchitecture: all\nDescription: says all\n',
        files: [dirEntry('./usr/'), dirEntry('./usr/bin/'), fileEntry('./usr/bin/hello', 'hi', 0o755)],
      });
      const repoDir = await temp('herd-identity-repo-');
      const repo = await createAptRepo({
        dir: repoDir,
        suites: [{ name: 'test' }],
        packages: [baseFiles, { name: 'hello-bin', version: '2.0-1', architecture: 'amd64', rawDeb }],
      });
      await repo.close();
      spec = await specFor(repoDir, repo.keyringPath);
      dirs.push(spec);
      home = await temp('herd-identity-home-');
    });

    it('locks it as amd64, then refuses to build, naming the .deb and both architectures', async () => {
      const lock = runHerd(['lock', spec], { home });
      assert.equal(lock.status, 0, lock.err);
      assert.match(await readFile(join(spec, 'herd.lock'), 'utf8'), /"architecture": "amd64"/);

      const build = runHerd(['build', spec], { home });
      assert.notEqual(build.status, 0);
      assert.match(build.err, /DEB_CONTROL_MISMATCH|control file says/);
      assert.match(build.err, /hello-bin.*Architecture "all", herd\.lock says "amd64"/);
      const images = runHerd(['image', 'ls'], { home });
      assert.doesNotMatch(images.out, /greeter/);
    });
  });

  describe('a herd.lock edited to another sha256 with the same version', () => {
    it('refuses the .deb, naming both digests, and names no image', async () => {
      const repoDir = await temp('herd-identity-sha-repo-');
      const repo = await createAptRepo({
        dir: repoDir,
        suites: [{ name: 'test' }],
        packages: [
          baseFiles,
          {
            name: 'hello-bin',
            version: '2.0-1',
            docs: false,
            files: [{ path: 'usr/bin/hello', content: 'hi', mode: 0o755 }],
          },
        ],
      });
      await repo.close();
      const spec = await specFor(repoDir, repo.keyringPath);
      dirs.push(spec);
      const home = await temp('herd-identity-sha-home-');
      assert.equal(runHerd(['lock', spec], { home }).status, 0);
      const lockPath = join(spec, 'herd.lock');
      const lock = JSON.parse(await readFile(lockPath, 'utf8'));
      const entry = lock.packages.find((p: { name: string }) => p.name === 'hello-bin');
      const forged = 'ab'.repeat(32);
      const real = entry.sha256;
      entry.sha256 = forged;
      await writeFile(lockPath, `${JSON.stringify(lock, null, 2)}\n`);

      const build = runHerd(['build', spec], { home });
      assert.notEqual(build.status, 0);
      assert.match(build.err, new RegExp(forged));
      assert.match(build.err, new RegExp(real));
      assert.doesNotMatch(runHerd(['image', 'ls'], { home }).out, /greeter/);
    });
  });
});
