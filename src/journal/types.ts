/** Entries of the hash-chained event log, as callers write and read them. */
import type { JsonObject } from '../common/index.js';

/** What happened. A new action is added here (the column is plain text, no migration needed). */
export const journalActions = [
  'build',
  'gate',
  'vulndb-update',
  'sign',
  'push',
  'pull',
  'release',
  'revoke',
  'admission-refused',
  'rollout',
  'rollback',
  'revert',
  'scale',
  /** `herd pause` and `herd resume`: a fleet's rollout held, and let go on (src/pipeline). */
  'pause',
  'resume',
  'replace',
  'drift',
  'incident',
  'verify-instance',
  'token-create',
  'token-revoke',
  /** A break-glass session began (src/debug/): who, why, on which instance, for how long. */
  'debug',
  /** It ended: how, and the digest of its transcript in the store. */
  'debug-end',
  /** A remediation run started (src/pipeline): the findings that started it and what it builds. */
  'pipeline',
  /** It ended, or waits for approval: how, at which stage, and its time-to-remediate. */
  'pipeline-end',
  /** Someone let a run held for approval go on to production. */
  'approve',
] as const;
export type JournalAction = (typeof journalActions)[number];

/** What a caller appends; the journal adds id, time and the hashes. */
export interface JournalEvent {
  /** Who: HERD_ACTOR or the OS user, resolved by the caller (see `resolveActor`). */
  actor: string;
  action: JournalAction;
  service?: string;
  digest?: string;
  /** Why and how. Never secret values: pass them through `redactDetails` first. */
  details?: JsonObject;
}

export interface JournalEntry {
  /** 1, 2, 3, … without gaps. */
  id: number;
  /** ISO 8601 UTC, from the injected clock. */
  at: string;
  actor: string;
  action: JournalAction;
  service?: string;
  digest?: string;
  details: JsonObject;
  /** The previous entry's hash; 64 zeros for entry 1. */
  prevHash: string;
  /** sha256 (hex) over this entry's canonical encoding, see `hashEntry`. */
  hash: string;
}
