/**
 * The trust path through the real CLI: keys, sign, verify, release, revoke and the journal, on an
 * image built from a signed local repository. Tampering is done on disk and with the sqlite3 CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest, ImageManifest } from '../src/oci/types.js';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, lockAndBuild, writeSpecDir } from './support/build-harness.js';
import { runHerd } from './support/cli.js';
import { requireTool } from './support/podman.js';

function herd(args: string[], home: string, env: Record<string, string> = {}) {
  return runHerd(args, { home, env: { HERD_KEY_PASSWORD: 'correct horse', HERD_ACTOR: 'tester', ...env } });
}

const spec = (repo: FixtureRepo) => `apiVersion: herd/v1
service: tiny
image:
  suites: [test]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [tiny-bin]
`;

describe('herd sign, verify, release and revoke', () => {
  let repo: FixtureRepo;
  let home: string;
  let digest: Digest;
  let specDir: string;

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
          name: 'tiny-bin',
          version: '1.0',
          files: [{ path: 'usr/bin/tiny', content: 'tiny\n', mode: 0o755 }],
        },
      ],
    });
    home = await freshHome();
    specDir = await writeSpecDir({ 'herd.yaml': spec(repo) });
    const built = await lockAndBuild(specDir, { home });
    digest = built.image.digest;
  });

  after(async () => {
    await repo?.close();
  });

  it('refuses to release an unsigned digest', () => {
    const keys = herd(['keys', 'generate'], home);
    assert.equal(keys.status, 0, keys.err);

    const release = herd(['release', 'tiny', digest, '--stage', 'candidate'], home);

    assert.notEqual(release.status, 0);
    assert.match(release.err, new RegExp(`${digest}.*not signed`));
  });

  it('refuses to sign an image the gate has not passed, and signs once it has', () => {
    const early = herd(['sign', digest], home);
    const gate = herd(['gate', digest, '--spec', specDir, '--format', 'json'], home);

    assert.equal(early.status, 1);
    assert.match(early.err, /has not been gated: run herd gate/);
    assert.equal(gate.status, 0, gate.out + gate.err);
    assert.equal(JSON.parse(gate.out).passed, true);
  });

  it('signs, then verifies the signature and every attestation, the gate verdict among them', () => {
    const sign = herd(['sign', digest], home);
    const verify = herd(
      ['verify', digest, '--attestations', '--key', join(home, 'keys', 'cosign.pub')],
      home,
    );

    assert.equal(sign.status, 0, sign.err);
    assert.equal(verify.status, 0, verify.err);
    assert.match(verify.out, /https:\/\/slsa\.dev\/provenance\/v1/);
    assert.match(verify.out, /https:\/\/spdx\.dev\/Document/);
    assert.match(verify.out, /urn:herd:gate-verdict:v1/);
  });

  it('fails verification with another key', () => {
    const other = herd(['keys', 'generate', '--output', join(home, 'other')], home);
    assert.equal(other.status, 0, other.err);

    const verify = herd(['verify', digest, '--key', join(home, 'other.pub')], home);

    assert.equal(verify.status, 1);
    assert.match(verify.err, /SIGNATURE_INVALID/);
  });

  it('refuses a wrong key password without echoing it', () => {
    const sign = herd(['sign', digest], home, { HERD_KEY_PASSWORD: 'wrong-password-123' });

    assert.notEqual(sign.status, 0);
    assert.match(sign.err, /password is wrong/);
    assert.doesNotMatch(sign.err + sign.out, /wrong-password-123/);
  });

  it('releases forward, refuses a revoked digest, and journals each step', () => {
    const candidate = herd(['release', 'tiny', digest, '--stage', 'candidate'], home);
    const production = herd(['release', 'tiny', digest, '--stage', 'production'], home);
    const revoke = herd(['revoke', 'tiny', digest, '--reason', 'test revocation'], home);
    const again = herd(['release', 'tiny', digest, '--stage', 'production'], home);
    const journal = herd(['journal', '--json'], home);

    assert.equal(candidate.status, 0, candidate.err);
    assert.equal(production.status, 0, production.err);
    assert.equal(revoke.status, 0, revoke.err);
    assert.notEqual(again.status, 0);
    assert.match(again.err, /revoked/);
    const actions = (JSON.parse(journal.out) as { action: string; actor: string }[]).map((e) => e.action);
    assert.deepEqual(actions, ['gate', 'sign', 'release', 'release', 'revoke']);
  });

  it('names the edited entry when a journal row is changed with the sqlite3 CLI', () => {
    requireTool('sqlite3', 'sqlite3');
    assert.equal(herd(['journal', '--verify'], home).status, 0);
    const db = join(home, 'herd.db');
    const triggers = spawnSync(
      'sqlite3',
      [db, "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='journal'"],
      {
        encoding: 'utf8',
      },
    )
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    const drop = triggers.map((t) => `DROP TRIGGER ${t};`).join(' ');

    const edit = spawnSync('sqlite3', [db, `${drop} UPDATE journal SET actor='mallory' WHERE id=2;`], {
      encoding: 'utf8',
    });
    const verify = herd(['journal', '--verify'], home);

    assert.equal(edit.status, 0, edit.stderr);
    assert.equal(verify.status, 1);
    assert.match(verify.out, /entry 2/);
  });

  it('fails verification with a digest mismatch when a layer blob is edited', async () => {
    const store = new LayoutStore(join(home, 'store'));
    const manifest = JSON.parse((await store.getBlob(digest)).toString()) as ImageManifest;
    const layer = manifest.layers.at(-1)!;
    const path = store.blobPath(layer.digest);
    const original = await readFile(path);
    await writeFile(path, Buffer.concat([original, Buffer.from('x')]));
    try {
      const verify = herd(['verify', digest], home);

      assert.equal(verify.status, 1);
      assert.match(verify.err, /DIGEST_MISMATCH/);
      assert.match(verify.err, new RegExp(layer.digest));
    } finally {
      await writeFile(path, original);
    }
  });

  it('fails verification as an invalid signature when the signature is edited', async () => {
    const store = new LayoutStore(join(home, 'store'));
    const sigDigest = await store.resolve(`sha256-${digest.slice(7)}.sig`);
    const sig = JSON.parse((await store.getBlob(sigDigest)).toString()) as ImageManifest;
    const annotations = sig.layers[0]!.annotations!;
    const b64 = annotations['dev.cosignproject.cosign/signature']!;
    annotations['dev.cosignproject.cosign/signature'] =
      `${b64.slice(0, 20)}${b64[20] === 'A' ? 'B' : 'A'}${b64.slice(21)}`;
    const forged = await store.putJson(sig, sig.mediaType);
    await store.addManifest(forged, { refName: `sha256-${digest.slice(7)}.sig`, dropPrevious: true });

    const verify = herd(['verify', digest], home);

    assert.equal(verify.status, 1);
    assert.match(verify.err, /SIGNATURE_INVALID/);
  });
});
