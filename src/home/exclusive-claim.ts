/**
 * An exclusive claim on a path across processes, without flock (Node has none). The claim is a
 * file made whole in a temp file and then link(2)ed into place: link fails when the path exists,
 * so at most one claimant wins and nobody ever reads half a claim.
 *
 * A claim whose holder is gone is taken over under a second claim named after that holder's nonce
 * (`<path>.takeover-<nonce>`). Only the one process that wins it may remove the dead holder's file,
 * and it removes it only if the file still holds that nonce. So two starters racing over a stale
 * lock never both win: the loser of the takeover waits and then finds the winner's live claim. The
 * takeover claim is guarded the same way, should its holder die too.
 */
import { readFile, rm } from 'node:fs/promises';
import { createExclusive } from '../common/index.js';
import { HomeError } from './errors.js';

export interface ClaimRecord {
  /** Random per claim: what tells this claim from a later one by the same process. */
  nonce: string;
}

export interface ClaimOptions<R extends ClaimRecord> {
  /** Reads a claim file; throws HOME_LOCK_INVALID naming the file when it is not one. */
  parse(text: string, path: string): R;
  /** Whether the holder still runs; a claim of a holder that does not is taken over. */
  isRunning(holder: R): boolean;
  /** Give up (HOME_LOCK_BUSY) when the claim keeps changing hands past this time (epoch ms). */
  deadline: number;
}

export type ClaimOutcome<R> = { kind: 'claimed' } | { kind: 'held'; holder: R };

export async function claimPath<R extends ClaimRecord>(
  path: string,
  mine: R,
  options: ClaimOptions<R>,
): Promise<ClaimOutcome<R>> {
  const text = `${JSON.stringify(mine, null, 2)}\n`;
  for (let round = 0; ; round++) {
    if (round > 0 && Date.now() > options.deadline) {
      throw new HomeError(
        'HOME_LOCK_BUSY',
        `${path} kept changing hands: expected to claim it or find its holder before the deadline`,
      );
    }
    if (await createExclusive(path, text, { mode: 0o600 })) return { kind: 'claimed' };
    const holder = await readClaim(path, options.parse);
    // Released between our link and our read: try again.
    if (holder === undefined) continue;
    if (options.isRunning(holder)) return { kind: 'held', holder };

    const takeover = `${path}.takeover-${holder.nonce}`;
    const guard = await claimPath(takeover, mine, options);
    if (guard.kind === 'held') {
      // A live process is taking the stale claim over; next round finds its claim, or none.
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
      continue;
    }
    try {
      // Only a holder of this takeover may remove the holder's file, so it is still there unless
      // an earlier taker (now gone) removed it; a new claim there has another nonce and stays.
      const still = await readClaim(path, options.parse).catch(() => undefined);
      if (still?.nonce === holder.nonce) await rm(path, { force: true });
    } finally {
      await rm(takeover, { force: true });
    }
  }
}

/** The claim at `path`, or undefined when there is none. */
export async function readClaim<R extends ClaimRecord>(
  path: string,
  parse: (text: string, path: string) => R,
): Promise<R | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parse(text, path);
}
