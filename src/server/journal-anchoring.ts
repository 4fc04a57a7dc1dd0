/**
 * The control plane journals as it runs (rollouts, scaling, replacements, incidents, refusals).
 * Rather than sign a checkpoint per entry, it signs one when the journal's head has moved, at most
 * every `intervalMs`, and once more when it stops: one ECDSA signature per batch, so the anchor
 * trails the journal by that interval at most. Entries in the gap are still checked, link by
 * link, from the last checkpoint on (see src/trust/journal-anchor.ts).
 */
import type { Catalog } from '../catalog/index.js';
import type { Logger } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Journal } from '../journal/index.js';
import type { Signer } from '../trust/index.js';
import {
  type AnchorOutcome,
  anchorJournal,
  journalCheckpointPath,
  loadTrustedKeys,
  unlockCheckpointSigner,
} from '../trust/index.js';

export interface JournalAnchoring {
  /** Anchors the head now, if it moved; resolves once written (or found not needed). */
  anchorNow(): Promise<AnchorOutcome | undefined>;
  /** Stops the timer after one last anchor. */
  stop(): Promise<void>;
}

/** How long to wait before trying again to unlock a key that could not be unlocked. */
const unlockRetryMs = 60_000;

export function startJournalAnchoring(options: {
  journal: Journal;
  catalog: Catalog;
  home: HerdHome;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  intervalMs?: number;
}): JournalAnchoring {
  const { journal, catalog, home, log } = options;
  const path = journalCheckpointPath(home);
  let signer: Signer | undefined;
  let unlockTriedAt = Number.NEGATIVE_INFINITY;
  let anchoredThrough: number | undefined;
  let lastComplaint = '';
  let running: Promise<AnchorOutcome | undefined> | undefined;

  const complain = (reason: string) => {
    // Once per distinct reason: a refused anchor would otherwise fill the log every interval.
    if (reason === lastComplaint) return;
    lastComplaint = reason;
    log.warn({ path, reason }, 'journal checkpoint not written');
  };

  const anchorOnce = async (): Promise<AnchorOutcome | undefined> => {
    const head = journal.head();
    if (!head || head.lastId === anchoredThrough) return undefined;
    if (!signer) {
      if (Date.now() - unlockTriedAt < unlockRetryMs) return undefined;
      unlockTriedAt = Date.now();
      const unlocked = await unlockCheckpointSigner(home, options.env ?? process.env);
      if ('unavailable' in unlocked) {
        complain(unlocked.unavailable);
        return undefined;
      }
      signer = unlocked.signer;
    }
    const publicKeys = (await loadTrustedKeys(home)).map((key) => key.publicKey);
    const outcome = await anchorJournal(
      { journal, catalog },
      { path, signer, publicKeys, now: () => new Date() },
    );
    if (outcome.kind === 'refused') complain(outcome.reason);
    else lastComplaint = '';
    if (outcome.kind === 'written' || outcome.kind === 'unchanged') {
      anchoredThrough = outcome.checkpoint.sequence;
    }
    return outcome;
  };

  const anchorNow = (): Promise<AnchorOutcome | undefined> => {
    // One at a time: a slow tick and a stop must not sign twice over the same head.
    running = (running ?? Promise.resolve(undefined)).then(anchorOnce, anchorOnce).catch((error) => {
      complain(String(error));
      return undefined;
    });
    return running;
  };

  const timer = setInterval(() => void anchorNow(), options.intervalMs ?? 2_000);
  timer.unref();
  return {
    anchorNow,
    async stop() {
      clearInterval(timer);
      await anchorNow();
    },
  };
}
