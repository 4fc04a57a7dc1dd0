/**
 * Loaded with `--import` by `npm test` in every test file's process: the folders it makes in the
 * temporary folder with mkdtemp are removed when it exits.
 *
 * Why: many tests never remove their scratch folders (a HERD_HOME, a spec, an apt repository);
 * one run left some 400 folders and 170 MB in /tmp. Pointing TMPDIR at a folder of the run's own
 * would be simpler, but podman refuses a runroot path longer than 50 characters, and a HERD_HOME
 * one level deeper passes that. So the folders stay where they were made, and are written down as
 * they are: fs's three mkdtemp functions are wrapped, and syncBuiltinESMExports() hands the
 * wrappers to `import { mkdtemp } from 'node:fs/promises'` too. Only folders directly in the
 * temporary folder are taken; what a test removed itself is skipped. What the processes a test
 * starts make (herd's own temp files) is theirs to clean.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';

const made = new Set();
const note = (dir) => {
  if (dirname(resolve(dir)) === resolve(tmpdir())) made.add(dir);
  return dir;
};

const promised = fs.promises.mkdtemp;
const synchronous = fs.mkdtempSync;
const withCallback = fs.mkdtemp;
fs.promises.mkdtemp = async (...args) => note(await promised(...args));
fs.mkdtempSync = (...args) => note(synchronous(...args));
fs.mkdtemp = (prefix, ...rest) => {
  const callback = rest.pop();
  withCallback(prefix, ...rest, (error, dir) => callback(error, error ? dir : note(dir)));
};
syncBuiltinESMExports();

process.on('exit', () => {
  for (const dir of made) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Busy (a mount a test left): it stays, as it did before; /tmp is cleaned at boot.
    }
  }
});
