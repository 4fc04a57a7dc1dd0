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
import { herdCliArgs } from './support/transpiled-cli.js';

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

  it('signs with a second key and keeps the first: both verify with their attestations, locally and from the registry', () => {
    const second = join(home, 'second');
    const destination = `${registry.host}/herd/two-keys:1`;
    assert.equal(runHerd(['keys', 'generate', '--output', second], { home, env }).status, 0);

    const signed = runHerd(['sign', digest, '--key', `${second}.key`], { home, env });
    // Each push signs for the destination with its key; the second keeps the first's layers.
    const pushed = runHerd(['push', digest, destination], { home, env });
    const pushedAgain = runHerd(['push', digest, destination, '--key', `${second}.key`], { home, env });

    assert.equal(signed.status, 0, signed.err);
    assert.equal(pushed.status, 0, pushed.err);
    assert.equal(pushedAgain.status, 0, pushedAgain.err);
    for (const where of [digest, destination]) {
      for (const key of [join(home, 'keys', 'cosign.pub'), `${second}.pub`]) {
        const verified = runHerd(['verify', where, '--key', key, '--attestations'], { home });
        assert.equal(verified.status, 0, `${where} with ${key}: ${verified.err}`);
        // The other key's layers are not counted, and said so.
        assert.match(verified.out, /ignored\s+signature sha256:[0-9a-f]{64}: verifies under no trusted key/);
        assert.match(verified.out, /ignored\s+attestation urn:herd:gate-verdict:v1 sha256:/);
      }
    }
  });

  it('keeps what another signer added in the registry when herd pushes again', async () => {
    const destination = `${registry.host}/herd/shared:1`;
    const other = join(home, 'other-home');
    const first = runHerd(['push', digest, destination], { home, env });
    assert.equal(first.status, 0, first.err);
    // Someone else, with a HERD_HOME and a key of their own, signs and attests the same digest there.
    const pulled = runHerd(['pull', destination], { home: other });
    assert.equal(pulled.status, 0, pulled.err);
    const generated = runHerd(['keys', 'generate'], { home: other, env });
    assert.equal(generated.status, 0, generated.err);
    const theirs = runHerd(['sign', digest, '--identity', destination], { home: other, env });
    assert.equal(theirs.status, 0, theirs.err);
    const theirPush = runHerd(['push', digest, destination], { home: other, env });
    assert.equal(theirPush.status, 0, theirPush.err);

    const again = runHerd(['push', digest, destination], { home, env });

    assert.equal(again.status, 0, again.err);
    assert.match(again.err, /kept \d+ signature layers? that only the registry held/);
    assert.match(again.err, /kept \d+ attestation layers? that only the registry held/);
    for (const key of [join(other, 'keys', 'cosign.pub'), join(home, 'keys', 'cosign.pub')]) {
      const verified = runHerd(['verify', destination, '--key', key, '--attestations'], { home });
      assert.equal(verified.status, 0, `${key}: ${verified.err}`);
    }
  });

  it('checks the signed repository: --identity, and by default the repository a registry image comes from', () => {
    const original = `${registry.host}/herd/tiny:1`;
    const copy = `${registry.host}/herd/copied:1`;
    const publicKey = join(home, 'keys', 'cosign.pub');
    // Copied without signing for the copy's repository: its signatures name herd/tiny and localhost/tiny.
    const copying = runHerd(['push', digest, copy, '--no-sign'], { home, env });
    assert.equal(copying.status, 0, copying.err);

    const wrong = runHerd(
      ['verify', original, '--key', publicKey, '--identity', `${registry.host}/herd/other`],
      {
        home,
      },
    );
    const copied = runHerd(['verify', copy, '--key', publicKey], { home });
    const named = runHerd(['verify', copy, '--key', publicKey, '--identity', `${registry.host}/herd/tiny`], {
      home,
    });
    const local = runHerd(['verify', digest, '--key', publicKey, '--identity', 'localhost/tiny'], { home });
    const invalid = runHerd(['verify', digest, '--key', publicKey, '--identity', 'tiny'], { home });

    assert.equal(wrong.status, 1);
    assert.match(wrong.err, /SIGNATURE_IDENTITY_MISMATCH/);
    assert.match(wrong.err, new RegExp(`not for repository ${registry.host}/herd/other`));
    assert.equal(copied.status, 1);
    assert.match(copied.err, /SIGNATURE_IDENTITY_MISMATCH/);
    assert.equal(named.status, 0, named.err);
    assert.match(named.out, /not counted\s+signature for localhost\/tiny: another repository/);
    assert.equal(local.status, 0, local.err);
    assert.notEqual(invalid.status, 0);
    assert.match(invalid.err, /identity "tiny" is not a repository/);
  });

  it('serves the store read-only at /v2/ with herd serve', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [...herdCliArgs(), 'serve', '--port', String(port)], {
      cwd: projectRoot,
      env: { ...process.env, HERD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
