/**
 * HERD_HOME on start: `herd serve` and `herd up` take its lock before they write anything, then
 * fix the modes of everything herd wrote there; other commands fix the modes only when the home
 * itself is open to others (a home from before herd kept it private), which one stat tells.
 * Either way herd says once on stderr what it changed.
 */
import { herdHome } from '../herd-home.js';
import {
  checkHomeOwner,
  type HomeLock,
  isHomeLoose,
  lockHome,
  type TightenReport,
  tightenHome,
} from '../home/index.js';

/**
 * Runs `work` holding HERD_HOME's lock for `command` (`herd serve`, `herd up`), after fixing the
 * home's modes. The control plane releases the lock when it closes; this releases it too, for
 * the paths that end before one started (a failed gate, a port in use).
 */
export async function withHomeClaimed(
  command: string,
  work: (lock: HomeLock) => Promise<number>,
): Promise<number> {
  const home = herdHome();
  const lock = await lockHome(home, { command });
  try {
    say(home.root, await tightenHome(home));
    return await work(lock);
  } finally {
    await lock.release();
  }
}

export async function keepHomePrivate(): Promise<void> {
  const home = herdHome();
  // A home another user owns is refused before the command writes in it.
  const refused = await checkHomeOwner(home.root).then(
    () => undefined,
    (error: Error) => error,
  );
  if (refused) {
    console.error(`herd: ${refused.message}`);
    process.exit(2);
  }
  try {
    if (await isHomeLoose(home.root)) say(home.root, await tightenHome(home));
  } catch (error) {
    // A home herd cannot even list is no reason to refuse a command that may not need it.
    console.error(
      `herd: could not check the modes under HERD_HOME (${home.root}): ${(error as Error).message}`,
    );
  }
}

function say(root: string, report: TightenReport): void {
  if (report.tightened > 0) {
    console.error(
      `herd: tightened modes of ${report.tightened} ${report.tightened === 1 ? 'file' : 'files'} under HERD_HOME (${root}): nothing there is readable by other users now`,
    );
  }
  if (report.leftAlone.length > 0) {
    console.error(
      `herd: left ${report.leftAlone.join(', ')} in HERD_HOME (${root}) as they are: herd did not write them`,
    );
  }
  for (const { path, reason } of report.failed) {
    console.error(`herd: could not make ${path} private: ${reason}`);
  }
}
