import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthFileCredentials } from './auth-file-credentials.js';
import { authFileLocations } from './auth-files.js';
import { EnvCredentials } from './env-credentials.js';
import { RegistryError } from './errors.js';

const auth = (text: string) => Buffer.from(text).toString('base64');

async function writeJson(path: string, value: unknown): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(value));
  return path;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<RegistryError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof RegistryError && error.code === code;
  });
  return caught as RegistryError;
}

describe('authFileLocations', () => {
  const home = '/home/u';

  it('lists the runtime auth.json, the config-home auth.json, then docker’s config.json, as containers/image does', () => {
    assert.deepEqual(authFileLocations({ XDG_RUNTIME_DIR: '/run/user/1000' }, { home, uid: 1000 }), [
      { path: '/run/user/1000/containers/auth.json', format: 'containers' },
      { path: '/home/u/.config/containers/auth.json', format: 'containers' },
      { path: '/home/u/.docker/config.json', format: 'docker' },
    ]);
  });

  it('falls back to /run/containers/<uid>, and follows XDG_CONFIG_HOME and DOCKER_CONFIG', () => {
    assert.deepEqual(
      authFileLocations({ XDG_CONFIG_HOME: '/cfg', DOCKER_CONFIG: '/dc' }, { home, uid: 1000 }),
      [
        { path: '/run/containers/1000/auth.json', format: 'containers' },
        { path: '/cfg/containers/auth.json', format: 'containers' },
        { path: '/dc/config.json', format: 'docker' },
      ],
    );
  });

  it('reads only REGISTRY_AUTH_FILE when it is set, like podman --authfile', () => {
    assert.deepEqual(
      authFileLocations({ REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/r' }, { home, uid: 0 }),
      [{ path: '/a.json', format: 'containers' }],
    );
  });
});

describe('AuthFileCredentials', () => {
  let dir: string;
  let bin: string;
  let helperLog: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-auth-files-'));
    bin = join(dir, 'bin');
    helperLog = join(dir, 'helper.log');
    await mkdir(bin);
    // A real credential helper, as docker runs them: `get`, the host on stdin, JSON on stdout.
    await writeHelper(
      'herdtest',
      `host=$(cat)
printf '%s %s\\n' "$1" "$host" >> "${helperLog}"
case "$host" in
  127.0.0.1:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$host" ;;
  token.example) printf '{"ServerURL":"x","Username":"<token>","Secret":"refresh-token-value"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
    );
    await writeHelper('broken', 'echo "failed for leaked-secret-value" ; exit 3');
    await writeHelper('garbage', 'echo "not json: leaked-secret-value"');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeHelper(name: string, body: string): Promise<void> {
    const path = join(bin, `docker-credential-${name}`);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
  }

  function credentialsFor(files: { path: string; format: 'containers' | 'docker' }[]): AuthFileCredentials {
    return new AuthFileCredentials({ files, env: { PATH: `${bin}:${process.env.PATH}` } });
  }

  it('finds base64 user:password by host, and by URL with a path', async () => {
    const path = await writeJson(join(dir, 'plain', 'config.json'), {
      auths: {
        '127.0.0.1:5000': { auth: auth('alice:pa:ss') },
        'https://registry.example': { auth: auth('bob:secret') },
        'https://other.example/v1/': { username: 'carol', password: 'plain' },
      },
    });
    const credentials = credentialsFor([{ path, format: 'docker' }]);

    assert.deepEqual(await credentials.lookup('127.0.0.1:5000'), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(await credentials.lookup('registry.example'), { username: 'bob', password: 'secret' });
    assert.deepEqual(await credentials.lookup('other.example'), { username: 'carol', password: 'plain' });
    assert.equal(await credentials.lookup('127.0.0.1:5001'), undefined);
  });

  it('takes the first file that knows the host, in containers/image’s order', async () => {
    const environment = {
      HOME: join(dir, 'home'),
      XDG_RUNTIME_DIR: join(dir, 'runtime'),
      PATH: process.env.PATH,
    };
    await writeJson(join(dir, 'runtime', 'containers', 'auth.json'), {
      auths: { 'a.example': { auth: auth('runtime:1') } },
    });
    await writeJson(join(dir, 'home', '.config', 'containers', 'auth.json'), {
      auths: { 'a.example': { auth: auth('config:2') }, 'b.example': { auth: auth('config:2') } },
    });
    await writeJson(join(dir, 'home', '.docker', 'config.json'), {
      auths: {
        'a.example': { auth: auth('docker:3') },
        'b.example': { auth: auth('docker:3') },
        'c.example': { auth: auth('docker:3') },
      },
    });
    const credentials = new AuthFileCredentials({ env: environment });

    assert.equal((await credentials.lookup('a.example'))?.username, 'runtime');
    assert.equal((await credentials.lookup('b.example'))?.username, 'config');
    assert.equal((await credentials.lookup('c.example'))?.username, 'docker');
    assert.equal(await credentials.lookup('d.example'), undefined);
  });

  it('reads REGISTRY_AUTH_FILE and nothing else when it is set', async () => {
    const authFile = await writeJson(join(dir, 'explicit', 'auth.json'), {
      auths: { 'a.example': { auth: auth('explicit:1') } },
    });
    await writeJson(join(dir, 'explicit-home', '.docker', 'config.json'), {
      auths: { 'c.example': { auth: auth('docker:3') } },
    });
    const credentials = new AuthFileCredentials({
      env: { HOME: join(dir, 'explicit-home'), REGISTRY_AUTH_FILE: authFile, PATH: process.env.PATH },
    });

    assert.equal((await credentials.lookup('a.example'))?.username, 'explicit');
    // ~/.docker/config.json knows c.example, but an explicit auth file is the only one read.
    assert.equal(await credentials.lookup('c.example'), undefined);
  });

  it('runs the credHelpers helper for its host: `get`, the host on stdin, once per host', async () => {
    const path = await writeJson(join(dir, 'helpers', 'auth.json'), {
      credHelpers: { '127.0.0.1:5000': 'herdtest' },
      auths: { '127.0.0.1:5000': { auth: auth('ignored:x') } },
    });
    const credentials = credentialsFor([{ path, format: 'containers' }]);
    await writeFile(helperLog, '');

    const first = await credentials.lookup('127.0.0.1:5000');
    const again = await credentials.lookup('127.0.0.1:5000');

    assert.deepEqual(first, { username: 'helper-user', password: 'helper-secret' });
    assert.deepEqual(again, first);
    assert.equal(await readFile(helperLog, 'utf8'), 'get 127.0.0.1:5000\n');
  });

  it('asks docker’s credsStore for every host, and ignores credsStore in a containers auth.json', async () => {
    const docker = await writeJson(join(dir, 'store', 'config.json'), { credsStore: 'herdtest' });
    const containers = await writeJson(join(dir, 'store', 'auth.json'), { credsStore: 'herdtest' });

    assert.equal(
      (await credentialsFor([{ path: docker, format: 'docker' }]).lookup('127.0.0.1:5000'))?.username,
      'helper-user',
    );
    assert.equal(
      await credentialsFor([{ path: docker, format: 'docker' }]).lookup('unknown.example'),
      undefined,
    );
    assert.equal(
      await credentialsFor([{ path: containers, format: 'containers' }]).lookup('127.0.0.1:5000'),
      undefined,
    );
  });

  it('fails with CREDENTIAL_HELPER_FAILED, naming the program, when the helper is not on PATH', async () => {
    const path = await writeJson(join(dir, 'missing-helper', 'config.json'), {
      credHelpers: { 'a.example': 'nothere' },
    });

    const error = await rejectsWith(
      credentialsFor([{ path, format: 'docker' }]).lookup('a.example'),
      'CREDENTIAL_HELPER_FAILED',
    );

    assert.match(error.message, /docker-credential-nothere is not on PATH/);
  });

  it('never shows what a failing or confused helper printed', async () => {
    for (const helper of ['broken', 'garbage']) {
      const path = await writeJson(join(dir, `leaky-${helper}`, 'config.json'), {
        credHelpers: { 'a.example': helper },
      });

      const error = await rejectsWith(
        credentialsFor([{ path, format: 'docker' }]).lookup('a.example'),
        'CREDENTIAL_HELPER_FAILED',
      );

      const shown = `${error.message}\n${error.stack}\n${JSON.stringify(error)}`;
      assert.ok(!shown.includes('leaked-secret-value'), shown);
    }
  });

  it('refuses an identity token, from a helper or a file, without showing it', async () => {
    const helperPath = await writeJson(join(dir, 'token', 'config.json'), {
      credHelpers: { 'token.example': 'herdtest' },
    });
    const filePath = await writeJson(join(dir, 'token', 'auth.json'), {
      auths: { 'token.example': { identitytoken: 'refresh-token-value' } },
    });

    for (const [path, code] of [
      [helperPath, 'CREDENTIAL_HELPER_FAILED'],
      [filePath, 'AUTH_FAILED'],
    ] as const) {
      const error = await rejectsWith(
        credentialsFor([{ path, format: 'docker' }]).lookup('token.example'),
        code,
      );
      assert.match(error.message, /identity token/);
      assert.ok(!error.message.includes('refresh-token-value'));
    }
  });

  it('refuses a helper name that would leave docker-credential-*', async () => {
    const path = await writeJson(join(dir, 'climb', 'config.json'), {
      credHelpers: { 'a.example': '../../bin/sh' },
    });

    await rejectsWith(
      credentialsFor([{ path, format: 'docker' }]).lookup('a.example'),
      'CREDENTIAL_HELPER_FAILED',
    );
  });

  it('answers nothing when no file exists', async () => {
    const credentials = credentialsFor([{ path: join(dir, 'missing', 'auth.json'), format: 'containers' }]);

    assert.equal(await credentials.lookup('127.0.0.1:5000'), undefined);
  });

  it('refuses a broken file without quoting it', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"auths": {"h": {"auth": "c2VjcmV0LXZhbHVl"');

    const error = await rejectsWith(credentialsFor([{ path, format: 'docker' }]).lookup('h'), 'AUTH_FAILED');

    assert.ok(!error.message.includes('c2VjcmV0LXZhbHVl'));
    assert.ok(error.message.includes(path));
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
