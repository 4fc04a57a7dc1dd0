/**
 * After a herd command that appended to the journal, herd signs a checkpoint of its head
 * (src/trust/journal-anchor.ts): one key unlock and one signature per command, however many
 * entries it wrote. StateContext.close notes that the head moved; `run` in main.ts calls
 * `checkpointIfJournaled` when the command is over, whether it succeeded or not.
 */
import { access } from 'node:fs/promises';
import { herdHome } from '../herd-home.js';
import { keyPairFiles } from '../trust/index.js';
import { takeJournaled } from './journaled-flag.js';

/**
 * Signs a checkpoint when this process journaled. Never throws: the command's own outcome stands,
 * and a checkpoint that cannot be written is a notice on stderr (none when there is no key at all,
 * as on a machine that never signs anything). Without a key, the signing code
 * (journal-checkpoint-signing.ts: the key's format, the trusted keys, the anchor) is not loaded:
 * 50 ms of every command that journals.
 */
export async function checkpointIfJournaled(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!takeJournaled()) return;
  try {
    const home = herdHome(env);
    try {
      await access(keyPairFiles(home).privateKeyPath);
    } catch {
      return;
    }
    const reason = await (await import('./journal-checkpoint-signing.js')).signJournalCheckpoint(home, env);
    if (reason !== undefined) notice(reason);
  } catch (error) {
    notice((error as Error).message);
  }
}

function notice(reason: string): void {
  console.error(`herd: journal checkpoint not written: ${reason}`);
}
