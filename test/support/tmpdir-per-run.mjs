/**
 * Loaded with `--import` by `npm test`, in the runner and in every test file's process: one
 * temporary folder for the whole run, removed when the runner exits.
 *
 * Why: tests make their scratch folders with mkdtemp(tmpdir()), and many never remove them (a
 * HERD_HOME, a spec, an apt repository); one run left some 400 folders and 170 MB in /tmp. With
 * TMPDIR pointing here, os.tmpdir() in the tests and in the herd, podman and other processes they
 * start all lands in this folder, and it goes as a whole. Its name is short, since unix socket paths
 * under it (a control plane's, podman's) may not pass 107 bytes. It is traversable by others (0755,
 * as /tmp is reachable), so tests that act as a second local user see the modes they set, not this
 * folder's.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const marker = 'HERD_TEST_TMPDIR';

if (!process.env[marker]) {
  const dir = mkdtempSync(join(tmpdir(), 'ht-'));
  chmodSync(dir, 0o755);
  process.env[marker] = dir;
  process.env.TMPDIR = dir;
  process.on('exit', () => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch (error) {
      // A mount a test left busy keeps its part; the rest is gone, and /tmp is cleaned at boot.
      process.stderr.write(`tests: could not remove all of ${dir}: ${error.message}\n`);
    }
  });
}
