/**
 * A HERD_HOME another local user made first (a path under /tmp, say) is refused by every command
 * before it writes there: its owner could swap herd.db for one holding a token they know.
 */
import assert from 'node:assert/strict';
import { chown, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freshHome } from './support/build-harness.js';
import { runHerd } from './support/cli.js';

describe('a HERD_HOME owned by another user', () => {
  it('is refused by herd token create and herd serve, naming the home and its owner, with nothing written', async () => {
    assert.equal(
      process.getuid?.(),
      0,
      'this test gives the home to another user (nobody), which needs root',
    );
    const home = join(await freshHome(), 'shared');
    await mkdir(home, { mode: 0o777 });
    await chown(home, 65534, 65534);

    const create = runHerd(['token', 'create', '--role', 'admin', '--name', 'ops'], { home });
    const serve = runHerd(['serve', '--port', '0'], { home });

    for (const result of [create, serve]) {
      assert.equal(result.status, 2, result.err);
      assert.match(
        result.err,
        new RegExp(`herd: HERD_HOME ${home} belongs to uid 65534, and herd runs as uid 0`),
      );
    }
    assert.deepEqual(await readdir(home), []);
  });
});
