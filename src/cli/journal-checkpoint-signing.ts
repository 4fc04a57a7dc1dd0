/**
 * Signing a checkpoint of the journal's head (src/trust/journal-anchor.ts), once
 * journal-checkpointing.ts has found a signing key: the key's code, the trusted keys and the
 * anchor are loaded only then.
 */
import type { HerdHome } from '../herd-home.js';
import {
  anchorJournal,
  journalCheckpointPath,
  loadTrustedKeys,
  unlockCheckpointSigner,
} from '../trust/index.js';
import { openState } from './state-context.js';

/** Signs a checkpoint; returns why none was written, when that is worth a notice. */
export async function signJournalCheckpoint(
  home: HerdHome,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const unlocked = await unlockCheckpointSigner(home, env);
  if ('unavailable' in unlocked) {
    return unlocked.unavailable.startsWith('no signing key') ? undefined : unlocked.unavailable;
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
    return outcome.kind === 'refused' ? `${outcome.reason}; herd journal --verify says more` : undefined;
  } finally {
    state.close();
  }
}
