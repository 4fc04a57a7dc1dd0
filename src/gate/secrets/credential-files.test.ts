import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialFileKind } from './credential-files.js';

describe('credential files by name', () => {
  it('recognises SSH keys, git and netrc credentials, dotenv and cloud and registry credentials', () => {
    for (const path of [
      '/root/.ssh/id_rsa',
      '/home/app/.ssh/id_ed25519',
      '/root/.git-credentials',
      '/app/.env',
      '/app/.env.production',
      '/app/credentials.json',
      '/root/.netrc',
      '/var/lib/postgresql/.pgpass',
      '/root/.docker/config.json',
      '/home/app/.aws/credentials',
      '/root/.kube/config',
      '/app/keystore.p12',
      '/app/terraform.tfstate',
    ]) {
      assert.ok(credentialFileKind(path), path);
    }
  });

  it('leaves public keys, env examples and ordinary names alone', () => {
    for (const path of [
      '/root/.ssh/id_rsa.pub',
      '/app/.env.example',
      '/app/environment.ts',
      '/app/config.json',
    ]) {
      assert.equal(credentialFileKind(path), undefined, path);
    }
  });
});
