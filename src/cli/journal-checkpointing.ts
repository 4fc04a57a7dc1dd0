/**
 * After a herd command that appended to the journal, herd signs a checkpoint of its head
 * (src/trust/journal-anchor.ts): one key unlock and one signature per command, however many
 * entries it wrote. StateContext.close notes that the head moved; `run` in main.ts calls
 * `checkpointIfJournaled` when the command is over, whether it succeeded or not.
 */
import { herdHome } from '../herd-home.js';
import {
  anchorJournal,
  journalCheckpointPath,
  loadTrustedKeys,
  unlockCheckpointSigner,
} from '../trust/index.js';
import { takeJournaled } from './journaled-flag.js';
import { openState } from './state-context.js';

/**
 * Signs a checkpoint when this process journaled. Never throws: the command's own outcome stands,
 * and a checkpoint that cannot be written is a notice on stderr (none when there is no key at all,
 * as on a machine that never signs anything).
 */
export async function checkpointIfJournaled(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!takeJournaled()) return;
  try {
    const home = herdHome(env);
    const unlocked = await unlockCheckpointSigner(home, env);
    if ('unavailable' in unlocked) {
      if (!unlocked.unavailable.startsWith('no signing key')) notice(unlocked.unavailable);
      return;
    }
    const publicKeys = (await loadTrustedKeys(home)).map((key) => key.publicKey);
    const state = openState();
    try {
      const outcome = await anchorJournal(state, {
        path: journalCheckpointPath(home),
        signer: unlocked.signer,
        publicKeys,
        now: () => new Date(),
      });
      if (outcome.kind === 'refused') notice(`${outcome.reason}; herd journal --verify says more`);
    } finally {
      state.close();
    }
  } catch (error) {
    notice((error as Error).message);
  }
}

function notice(reason: string): void {
  console.error(`herd: journal checkpoint not written: ${reason}`);
}
