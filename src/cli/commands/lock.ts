import { describeLockChange } from '../../builder/index.js';
import { describeDowngrade } from '../../debian/index.js';
import { herdHome } from '../../herd-home.js';
import { checkSpecLock, lockSpec } from '../../pipeline/index.js';
import { lockNotices } from '../lock-notices.js';
import { openSpec, openStore } from '../spec-context.js';
import { openState } from '../state-context.js';

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
  const state = openState();
  try {
    const parts = { store, state, home: herdHome() };
    if (options.check) {
      const check = await checkSpecLock(context, parts);
      switch (check.kind) {
        case 'missing':
          console.error(`herd: ${context.lockPath} does not exist; run herd lock`);
          return 1;
        case 'rolled-back':
          for (const downgrade of check.downgrades) console.log(`rollback: ${describeDowngrade(downgrade)}`);
          console.log(
            `${context.lockPath}: the archive went back in time, not forward; herd lock refuses this ` +
              'Release (check the mirror), unless told --allow-downgrade',
          );
          return downgradeExitCode;
        case 'current':
          console.log(`${context.lockPath} is current (${check.lock.packages.length} packages)`);
          return 0;
        case 'outdated':
          if (check.specChanged) {
            console.log(`spec changed: ${check.current.specDigest} -> ${check.fresh.specDigest}`);
          }
          for (const change of check.changes) console.log(describeLockChange(change));
          console.log(
            `${context.lockPath} is out of date: ${check.changes.length} package change(s); run herd lock`,
          );
          return 1;
      }
    }
    const lock = await lockSpec(context, parts, {
      notices: lockNotices,
      ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
    });
    console.log(
      `wrote ${context.lockPath}: ${lock.packages.length} packages from ${lock.suites.map((s) => s.suite).join(', ')}`,
    );
    return 0;
  } finally {
    state.close();
  }
}
