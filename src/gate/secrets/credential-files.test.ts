import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialFileKind } from './credential-files.js';

describe('credential files by name', () => {
  it('recognises SSH keys, keystores, cloud credentials and Terraform state', () => {
    for (const path of [
      '/root/.ssh/id_rsa',
      '/home/app/.ssh/id_ed25519',
      '/app/credentials.json',
      '/var/lib/postgresql/.pgpass',
      '/home/app/.aws/credentials',
      '/root/.kube/config',
      '/app/keystore.p12',
      '/app/terraform.tfstate',
    ]) {
      assert.ok(credentialFileKind(path), path);
    }
  });

  it('leaves public keys, ordinary names and the files judged by their fields alone', () => {
    for (const path of [
      '/root/.ssh/id_rsa.pub',
      '/app/environment.ts',
      '/app/config.json',
      // Read field by field (credential-formats.ts, high-entropy-assignments.ts): placeholders pass.
      '/app/.env',
      '/root/.netrc',
      '/root/.pypirc',
      '/root/.git-credentials',
      '/root/.docker/config.json',
    ]) {
      assert.equal(credentialFileKind(path), undefined, path);
    }
  });
});
