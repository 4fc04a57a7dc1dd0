/**
 * herd push, pull, verify and serve through the CLI against Debian's docker-registry on 127.0.0.1:
 * push then pull into a fresh HERD_HOME gives the same digest, and the signature verifies remotely.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Digest } from '../src/oci/types.js';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, lockAndBuild, writeSpecDir } from './support/build-harness.js';
import { projectRoot, runHerd } from './support/cli.js';
import { freePort, startDockerRegistry, type TestRegistry } from './support/docker-registry.js';

const env = { HERD_KEY_PASSWORD: 'push test password' };

describe('herd push, pull and verify against a real registry', () => {
  let repo: FixtureRepo;
  let registry: TestRegistry;
  let home: string;
  let digest: Digest;

  before(async () => {
    registry = await startDockerRegistry();
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
          name: 'tiny-bin',
          version: '1.0',
          files: [{ path: 'usr/bin/tiny', content: 'tiny\n', mode: 0o755 }],
        },
      ],
    });
    const spec = `apiVersion: herd/v1
service: tiny
image:
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [tiny-bin]
`;
    home = await freshHome();
    const specDir = await writeSpecDir({ 'herd.yaml': spec });
    digest = (await lockAndBuild(specDir, { home })).image.digest;
    assert.equal(runHerd(['gate', digest, '--spec', specDir], { home }).status, 0);
    assert.equal(runHerd(['keys', 'generate'], { home, env }).status, 0);
    assert.equal(runHerd(['sign', digest], { home, env }).status, 0);
  });

  after(async () => {
    await registry?.stop();
    await repo?.close();
  });

  it('pushes, then pulls into a fresh HERD_HOME with the same digest', () => {
    const destination = `${registry.host}/herd/tiny:1`;
    const push = runHerd(['push', digest, destination], { home, env });
    const fresh = join(home, 'fresh');

    const pull = runHerd(['pull', destination], { home: fresh });
    const again = runHerd(['push', digest, destination], { home, env });

    assert.equal(push.status, 0, push.err);
    assert.equal(pull.status, 0, pull.err);
    assert.match(pull.out, new RegExp(`digest\\s+${digest}`));
    assert.match(again.out, /0 uploaded/);
  });

  it('verifies the pushed signature from the registry, and refuses another key', () => {
    const reference = `${registry.host}/herd/tiny:1`;
    const other = runHerd(['keys', 'generate', '--output', join(home, 'other')], { home, env });

    const good = runHerd(['verify', reference, '--key', join(home, 'keys', 'cosign.pub'), '--attestations'], {
      home,
    });
    const bad = runHerd(['verify', reference, '--key', join(home, 'other.pub')], { home });

    assert.equal(other.status, 0, other.err);
    assert.equal(good.status, 0, good.err);
    assert.match(good.out, new RegExp(`signature\\s+${registry.host}/herd/tiny`));
    assert.equal(bad.status, 1);
    assert.match(bad.err, /SIGNATURE_INVALID/);
  });

  it('serves the store read-only at /v2/ with herd serve', async () => {
    const port = await freePort();
    const server = spawn(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'serve', '--port', String(port)],
      { cwd: projectRoot, env: { ...process.env, HERD_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await new Promise<void>((ready, fail) => {
        server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('/v2/') && ready());
        server.once('exit', (code) => fail(new Error(`herd serve exited with ${code}`)));
      });

      const manifest = await fetch(`http://127.0.0.1:${port}/v2/tiny/manifests/${digest}`);
      const put = await fetch(`http://127.0.0.1:${port}/v2/tiny/manifests/latest`, {
        method: 'PUT',
        body: '{}',
      });

      assert.equal(manifest.status, 200);
      assert.equal(manifest.headers.get('docker-content-digest'), digest);
      assert.equal(put.status, 405);
    } finally {
      server.kill('SIGTERM');
    }
  });
});
