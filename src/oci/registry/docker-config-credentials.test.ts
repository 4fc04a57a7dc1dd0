import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerConfigCredentials } from './docker-config-credentials.js';
import { EnvCredentials } from './env-credentials.js';
import { RegistryError } from './errors.js';

describe('DockerConfigCredentials', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-docker-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds base64 user:password by host, and by URL with a path', async () => {
    const path = join(dir, 'config.json');
    const auth = (s: string) => Buffer.from(s).toString('base64');
    await writeFile(
      path,
      JSON.stringify({
        auths: {
          '127.0.0.1:5000': { auth: auth('alice:pa:ss') },
          'https://registry.example': { auth: auth('bob:secret') },
          'https://other.example/v1/': { username: 'carol', password: 'plain' },
        },
      }),
    );
    const credentials = new DockerConfigCredentials({ path });

    assert.deepEqual(await credentials.lookup('127.0.0.1:5000'), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(await credentials.lookup('registry.example'), { username: 'bob', password: 'secret' });
    assert.deepEqual(await credentials.lookup('other.example'), { username: 'carol', password: 'plain' });
    assert.equal(await credentials.lookup('127.0.0.1:5001'), undefined);
  });

  it('answers nothing when the file does not exist', async () => {
    const credentials = new DockerConfigCredentials({ path: join(dir, 'missing.json') });

    assert.equal(await credentials.lookup('127.0.0.1:5000'), undefined);
  });

  it('refuses a broken file without quoting it', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"auths": {"h": {"auth": "c2VjcmV0LXZhbHVl"');
    const credentials = new DockerConfigCredentials({ path });

    await assert.rejects(credentials.lookup('h'), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, 'AUTH_FAILED');
      assert.ok(!error.message.includes('c2VjcmV0LXZhbHVl'));
      return true;
    });
  });
});

describe('EnvCredentials', () => {
  it('reads HERD_REGISTRY_USERNAME and HERD_REGISTRY_PASSWORD, and nothing when either is unset', async () => {
    const both = new EnvCredentials({ env: { HERD_REGISTRY_USERNAME: 'u', HERD_REGISTRY_PASSWORD: 'p' } });
    const half = new EnvCredentials({ env: { HERD_REGISTRY_USERNAME: 'u' } });

    assert.deepEqual(await both.lookup('any'), { username: 'u', password: 'p' });
    assert.equal(await half.lookup('any'), undefined);
  });
});
