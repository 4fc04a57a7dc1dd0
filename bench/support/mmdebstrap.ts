/**
 * The peer both build benches time and measure: `mmdebstrap --variant=extract` of a lock's packages
 * at the lock's date. With `debDir`, the .deb files already on disk are copied into apt's cache by
 * a setup hook, so nothing is downloaded but the indexes of its own `apt-get update`; without it,
 * mmdebstrap downloads them too, as from a cold start. Throws with mmdebstrap's stderr when it fails.
 */
import { spawnSync } from 'node:child_process';
import type { Lock } from '../../src/builder/index.js';

export interface MmdebstrapRun {
  lock: Lock;
  /** .deb files to take from disk; none: mmdebstrap downloads them. */
  debDir?: string;
  mirrors: string[];
  output: string;
}

/** The command line, for benches that run it under /usr/bin/time. */
export function mmdebstrapCommand(run: MmdebstrapRun): { args: string[]; env: NodeJS.ProcessEnv } {
  const { lock, debDir, mirrors, output } = run;
  const cached = debDir
    ? [
        '--skip=download/empty',
        `--setup-hook=mkdir -p "$1/var/cache/apt/archives" && cp ${debDir}/*.deb "$1/var/cache/apt/archives/"`,
      ]
    : [];
  return {
    args: [
      '--variant=extract',
      `--include=${lock.packages.map((p) => p.name).join(',')}`,
      ...cached,
      lock.suite,
      output,
      ...mirrors,
    ],
    env: { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(Date.parse(lock.date) / 1000)) },
  };
}

export function mmdebstrapExtract(run: MmdebstrapRun): void {
  const { args, env } = mmdebstrapCommand(run);
  const result = spawnSync('mmdebstrap', args, { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`mmdebstrap failed:\n${result.stderr}`);
}
