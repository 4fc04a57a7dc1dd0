import { describeLockChange, diffLocks, type Lock, readLock, writeLock } from '../../build/lock-file.js';
import { resolveLock } from '../../build/resolve-lock.js';
import { catalogBaseSource } from '../catalog-base-source.js';
import { openSpec, openStore } from '../spec-context.js';
import { openState } from '../state-context.js';

/** `herd lock [spec] [--check]`. With --check, exits 1 when the archive has moved on from the lock. */
export async function lockCommand(specPath: string, options: { check?: boolean }): Promise<number> {
  const context = await openSpec(specPath);
  const { store } = await openStore();
  const state = openState();
  let fresh: Lock;
  try {
    fresh = await resolveLock(context.loaded, {
      fetcher: context.fetcher,
      sources: context.sources,
      store,
      baseSource: catalogBaseSource(state.catalog),
    });
  } finally {
    state.close();
  }
  if (options.check) {
    const current = await readLock(context.lockPath);
    if (!current) {
      console.error(`herd: ${context.lockPath} does not exist; run herd lock`);
      return 1;
    }
    const changes = diffLocks(current, fresh);
    const specChanged = current.specDigest !== fresh.specDigest;
    if (changes.length === 0 && !specChanged) {
      console.log(`${context.lockPath} is current (${current.packages.length} packages)`);
      return 0;
    }
    if (specChanged) console.log(`spec changed: ${current.specDigest} -> ${fresh.specDigest}`);
    for (const change of changes) console.log(describeLockChange(change));
    console.log(`${context.lockPath} is out of date: ${changes.length} package change(s); run herd lock`);
    return 1;
  }
  await writeLock(context.lockPath, fresh);
  console.log(
    `wrote ${context.lockPath}: ${fresh.packages.length} packages from ${fresh.suites.map((s) => s.suite).join(', ')}`,
  );
  return 0;
}
