/**
 * `herd … | head -2`: a reader that stops early is normal use. herd ends quietly with its own exit
 * status, never with an EPIPE stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal } from '../src/journal/journal.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { freshHome } from './support/build-harness.js';
import { projectRoot } from './support/cli.js';

describe('herd writing into a closed pipe', () => {
  it('stops quietly when the reader has read two lines', async () => {
    const home = await freshHome();
    const journal = new Journal(openStateDb(join(home, 'herd.db')), { clock: { now: () => Date.now() } });
    // Far more than a pipe buffer (64 KiB), so herd is still writing when head exits.
    for (let step = 0; step < 3000; step += 1) {
      journal.append({
        actor: 'ci',
        action: 'build',
        service: 'web',
        details: { step, pad: 'x'.repeat(80) },
      });
    }
    journal.db.close();

    const result = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "${process.execPath}" --import tsx src/cli/main.ts journal | head -2`],
      { cwd: projectRoot, env: { ...process.env, HERD_HOME: home }, encoding: 'utf8', timeout: 120_000 },
    );

    assert.equal(result.stdout.split('\n').filter(Boolean).length, 2);
    assert.doesNotMatch(result.stderr, /EPIPE|at .*\.js:\d+/);
    assert.equal(result.status, 0, result.stderr);
  });
});
