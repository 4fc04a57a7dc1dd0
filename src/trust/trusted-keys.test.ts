import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { keyFingerprint, loadCosignPrivateKey, loadPublicKey } from './cosign-key.js';
import { TrustError } from './errors.js';
import { readCosignPrivateKey, writeCosignKeyPair } from './key-files.js';
import { loadTrustedKeys, trustedKeysDir, trustKey } from './trusted-keys.js';

function publicPem(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof TrustError && error.code === code);
}

describe('trusted keys', () => {
  let home: { root: string };

  beforeEach(async () => {
    home = { root: await mkdtemp(join(tmpdir(), 'herd-home-')) };
  });
  afterEach(async () => {
    await rm(home.root, { recursive: true, force: true });
  });

  it('are none when nothing was trusted yet', async () => {
    assert.deepEqual(await loadTrustedKeys(home), []);
  });

  it('are PEM files in HERD_HOME/keys/trusted, loaded by name', async () => {
    const ci = publicPem();
    await trustKey(home, ci, 'ci');
    await trustKey(home, publicPem(), 'alice');

    const keys = await loadTrustedKeys(home);

    assert.deepEqual(
      keys.map((k) => k.name),
      ['alice', 'ci'],
    );
    assert.equal(await readFile(join(trustedKeysDir(home), 'ci.pub'), 'utf8'), ci);
    assert.equal(keys[1]?.fingerprint, keyFingerprint(loadPublicKey(ci)));
  });

  it('accept the same key twice under one name, but not another key under a taken name', async () => {
    const pem = publicPem();
    await trustKey(home, pem, 'ci');

    await trustKey(home, pem, 'ci');

    await rejectsWithCode(trustKey(home, publicPem(), 'ci'), 'KEY_EXISTS');
  });

  it('refuse names that are not plain file names, and keys that are not P-256 public keys', async () => {
    await rejectsWithCode(trustKey(home, publicPem(), '../escape'), 'KEY_INVALID');
    await rejectsWithCode(trustKey(home, 'nonsense', 'ci'), 'KEY_INVALID');
  });

  it('fail loudly on a trusted key file that is not a key, rather than skip it', async () => {
    await trustKey(home, publicPem(), 'ci');
    await writeFile(join(trustedKeysDir(home), 'broken.pub'), 'not a key');

    await rejectsWithCode(loadTrustedKeys(home), 'KEY_INVALID');
  });
});

describe('writeCosignKeyPair', () => {
  let home: { root: string };

  beforeEach(async () => {
    home = { root: await mkdtemp(join(tmpdir(), 'herd-home-')) };
  });
  afterEach(async () => {
    await rm(home.root, { recursive: true, force: true });
  });

  it('writes cosign.key (0600) and cosign.pub under HERD_HOME/keys and trusts the public key', async () => {
    const written = await writeCosignKeyPair(home, { password: 'pw' });

    assert.equal(written.privateKeyPath, join(home.root, 'keys', 'cosign.key'));
    assert.equal((await stat(written.privateKeyPath)).mode & 0o777, 0o600);
    const privateKey = await readCosignPrivateKey(written.privateKeyPath, 'pw');
    const trusted = await loadTrustedKeys(home);
    assert.deepEqual(
      trusted.map((k) => [k.name, k.fingerprint]),
      [['cosign', keyFingerprint(privateKey)]],
    );
    assert.equal(
      keyFingerprint(loadPublicKey(await readFile(written.publicKeyPath, 'utf8'))),
      keyFingerprint(loadCosignPrivateKey(await readFile(written.privateKeyPath, 'utf8'), 'pw')),
    );
  });

  it('writes to an output prefix and trusts the key under the prefix’s name', async () => {
    const written = await writeCosignKeyPair(home, {
      password: 'pw',
      outputPrefix: join(home.root, 'release'),
    });

    assert.equal(written.publicKeyPath, join(home.root, 'release.pub'));
    assert.equal(written.trusted.name, 'release');
  });

  it('never overwrites an existing key pair', async () => {
    const first = await writeCosignKeyPair(home, { password: 'pw' });
    const before = await readFile(first.privateKeyPath, 'utf8');

    await rejectsWithCode(writeCosignKeyPair(home, { password: 'pw' }), 'KEY_EXISTS');

    assert.equal(await readFile(first.privateKeyPath, 'utf8'), before);
  });

  it('reports a wrong password for a key file as KEY_PASSWORD_WRONG', async () => {
    const written = await writeCosignKeyPair(home, { password: 'pw' });

    await rejectsWithCode(readCosignPrivateKey(written.privateKeyPath, 'wrong'), 'KEY_PASSWORD_WRONG');
  });
});
