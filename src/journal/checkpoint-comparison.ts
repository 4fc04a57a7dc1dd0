/**
 * Whether the journal still extends a checkpoint of its head kept outside herd.db. The chain and
 * `journal_head` live in the same file, so someone who cuts the tail and moves the head back, or
 * rewrites the journal from some entry on with every later hash recomputed, leaves a chain that
 * checks. A checkpoint signed earlier (src/trust/journal-checkpoint.ts) does not move with them.
 * Pure: journal.ts reads the rows, the caller verifies the checkpoint's signature.
 */
import { checkChain, type JournalHead, type JournalRow } from './chain.js';

/** The part of a checkpoint the journal can check: how many entries, and the last one's hash. */
export interface CheckpointHead {
  sequence: number;
  hash: string;
}

export type CheckpointDivergence = 'emptied' | 'truncated' | 'rewritten' | 'broken';

export type CheckpointComparison =
  /** The checkpoint's entry is there with its hash, and every later entry links to it. */
  { ok: true; appended: number } | { ok: false; kind: CheckpointDivergence; entryId: number; reason: string };

/**
 * `rows` are the entries from `checkpoint.sequence` on, in id order; `lastRowId` is the highest id
 * in the table (0 when empty). Names the first way the journal fails to extend the checkpoint:
 * emptied (no entries at all), truncated (fewer entries than the checkpoint, by rows or by head),
 * rewritten (the checkpoint's entry is gone or has another hash), or broken (a later link is).
 */
export function compareWithCheckpoint(
  rows: readonly JournalRow[],
  state: { head: JournalHead | undefined; lastRowId: number },
  checkpoint: CheckpointHead,
): CheckpointComparison {
  const { sequence } = checkpoint;
  if (state.lastRowId === 0) {
    return diverged('emptied', 1, `the journal is empty, but its checkpoint records ${entries(sequence)}`);
  }
  if (state.lastRowId < sequence) {
    return diverged(
      'truncated',
      state.lastRowId + 1,
      `the journal ends at entry ${state.lastRowId}, but its checkpoint records ${entries(sequence)} (tail deleted)`,
    );
  }
  if (state.head && state.head.lastId < sequence) {
    return diverged(
      'truncated',
      state.head.lastId + 1,
      `the journal head was moved back to entry ${state.head.lastId}, but its checkpoint records ${entries(sequence)}`,
    );
  }
  const anchor = rows[0];
  if (anchor?.id !== sequence) {
    return diverged(
      'rewritten',
      sequence,
      `entry ${sequence}, the checkpoint's last entry, is missing (row deleted)`,
    );
  }
  if (anchor.hash !== checkpoint.hash) {
    return diverged(
      'rewritten',
      sequence,
      `entry ${sequence} has hash ${anchor.hash.slice(0, 16)}…, its checkpoint signed ${checkpoint.hash.slice(0, 16)}… (journal rewritten)`,
    );
  }
  // The anchor row is checked again (its own hash, against its stored prevHash), then every later link.
  const chain = checkChain(rows, state.head, { after: { id: sequence - 1, hash: anchor.prevHash } });
  if (!chain.ok) return diverged('broken', chain.entryId, chain.reason);
  return { ok: true, appended: chain.count - 1 };
}

function diverged(kind: CheckpointDivergence, entryId: number, reason: string): CheckpointComparison {
  return { ok: false, kind, entryId, reason };
}

function entries(count: number): string {
  return `${count} ${count === 1 ? 'entry' : 'entries'}`;
}
