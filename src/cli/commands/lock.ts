import { BuildError } from '../../builder/errors.js';
import { describeLockChange, diffLocks, type Lock, readLock, writeLock } from '../../builder/lock-file.js';
import { describeDowngrade } from '../../debian/release-dates.js';
import { reportAllowedDowngrades, resolveSpecLock } from '../lock-resolution.js';
import { openSpec, openStore } from '../spec-context.js';

/** `herd lock --check` exits with this when a suite's Release is older than herd accepted before. */
export const downgradeExitCode = 3;

/**
 * `herd lock [spec] [--check] [--allow-downgrade]`. With --check, exits 1 when the archive has moved
 * on from the lock, and 3 when it has moved back (a rollback, which herd lock would refuse).
 */
export async function lockCommand(
  specPath: string,
  options: { check?: boolean; allowDowngrade?: boolean },
): Promise<number> {
  const context = await openSpec(specPath);
  const { store } = await openStore();
  if (options.check) {
    const current = await readLock(context.lockPath);
    if (!current) {
      console.error(`herd: ${context.lockPath} does not exist; run herd lock`);
      return 1;
    }
    // The check reports a rollback instead of refusing it, so the resolution goes through.
    const { lock: fresh, downgrades } = await resolveSpecLock(context, {
      store,
      previous: current,
      allowDowngrade: true,
    });
    if (downgrades.length > 0) {
      for (const downgrade of downgrades) console.log(`rollback: ${describeDowngrade(downgrade)}`);
      console.log(
        `${context.lockPath}: the archive went back in time, not forward; herd lock refuses this ` +
          'Release (check the mirror), unless told --allow-downgrade',
      );
      return downgradeExitCode;
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
  const previous = await readPreviousLock(context.lockPath);
  const { lock: fresh, downgrades } = await resolveSpecLock(context, {
    store,
    ...(previous ? { previous } : {}),
    ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
  });
  reportAllowedDowngrades(downgrades);
  await writeLock(context.lockPath, fresh);
  console.log(
    `wrote ${context.lockPath}: ${fresh.packages.length} packages from ${fresh.suites.map((s) => s.suite).join(', ')}`,
  );
  return 0;
}

/**
 * The lock being replaced, for the Release dates it remembers. One that no longer reads is what
 * herd lock is told to rewrite, so it is replaced; HERD_HOME still remembers the dates.
 */
async function readPreviousLock(lockPath: string): Promise<Lock | undefined> {
  try {
    return await readLock(lockPath);
  } catch (error) {
    if (!(error instanceof BuildError) || error.code !== 'LOCK_INVALID') throw error;
    console.error(`herd: replacing ${lockPath}, which does not read (${error.message})`);
    return undefined;
  }
}
