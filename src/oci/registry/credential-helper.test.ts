import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCredentialHelper } from './credential-helper.js';
import { RegistryError } from './errors.js';

describe('runCredentialHelper with a helper that never answers', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-helper-'));
    // A shell whose child keeps stdout open after the shell is stopped, and one that ignores SIGTERM.
    await writeFile(
      join(dir, 'docker-credential-sleepy'),
      `#!/bin/sh\necho $$ > ${join(dir, 'sleepy.pid')}\nsleep 30\necho late\n`,
    );
    await writeFile(
      join(dir, 'docker-credential-deaf'),
      `#!/bin/sh\necho $$ > ${join(dir, 'deaf.pid')}\ntrap "" TERM\nwhile :; do sleep 1; done\n`,
    );
    for (const name of ['sleepy', 'deaf']) await chmod(join(dir, `docker-credential-${name}`), 0o755);
    env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const helper of ['sleepy', 'deaf']) {
    it(`gives up on docker-credential-${helper} at the timeout, naming it, and leaves nothing running`, async () => {
      const started = Date.now();
      await assert.rejects(
        runCredentialHelper(helper, 'registry.example', { env, timeoutMs: 300 }),
        (error: unknown) =>
          error instanceof RegistryError &&
          error.code === 'CREDENTIAL_HELPER_FAILED' &&
          error.message.includes(`docker-credential-${helper}`) &&
          error.message.includes('timed out'),
      );
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms, expected about 300`);
      const pid = Number(await readFile(join(dir, `${helper}.pid`), 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `helper ${pid} still runs`);
    });
  }
});
