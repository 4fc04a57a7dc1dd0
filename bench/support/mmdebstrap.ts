/**
 * The peer both build benches time and measure: `mmdebstrap --variant=extract` of a lock's packages,
 * from .deb files already on disk (copied into apt's cache by a setup hook, so nothing is downloaded),
 * at the lock's date. Throws with mmdebstrap's stderr when it fails.
 */
import { spawnSync } from 'node:child_process';
import type { Lock } from '../../src/builder/index.js';

export function mmdebstrapExtract(run: {
  lock: Lock;
  debDir: string;
  mirrors: string[];
  output: string;
}): void {
  const { lock, debDir, mirrors, output } = run;
  const result = spawnSync(
    'mmdebstrap',
    [
      '--variant=extract',
      `--include=${lock.packages.map((p) => p.name).join(',')}`,
      '--skip=download/empty',
      `--setup-hook=mkdir -p "$1/var/cache/apt/archives" && cp ${debDir}/*.deb "$1/var/cache/apt/archives/"`,
      lock.suite,
      output,
      ...mirrors,
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(Date.parse(lock.date) / 1000)) },
    },
  );
  if (result.status !== 0) throw new Error(`mmdebstrap failed:\n${result.stderr}`);
}
