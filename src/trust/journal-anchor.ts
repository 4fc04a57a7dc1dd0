/**
 * The journal's anchor outside herd.db: HERD_HOME/journal.checkpoint, the last signed checkpoint
 * (journal-checkpoint.ts). `anchorJournal` signs a new one, but only over a journal that extends
 * the last one, so a journal rewritten behind herd's back is never blessed. `checkAnchor` compares
 * the journal and the catalog with it, for `herd journal --verify` and for admission.
 *
 * trust/ imports neither the journal nor the catalog: the caller hands them in, and they fit the
 * small views below.
 */
import type { KeyObject } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import { keyFingerprint } from './cosign-key.js';
import { TrustError } from './errors.js';
import {
  type JournalCheckpoint,
  readJournalCheckpoint,
  signJournalCheckpoint,
  type VerifiedCheckpoint,
} from './journal-checkpoint.js';
import { keyPairFiles, localKeyPasswordFile, readCosignPrivateKey } from './key-files.js';
import { LocalKeySigner, type Signer } from './signer.js';

/** What a checkpoint anchors; src/journal's Journal and src/catalog's Catalog fit these. */
export interface AnchorSources {
  journal: {
    head(): { lastId: number; hash: string } | undefined;
    compareWithCheckpoint(checkpoint: {
      sequence: number;
      hash: string;
    }): { ok: true } | { ok: false; reason: string };
  };
  catalog: { digestThrough(sequence: number): string };
}

export function journalCheckpointPath(home: Pick<HerdHome, 'root'>): string {
  return join(home.root, 'journal.checkpoint');
}

export type AnchorCheck =
  /** No checkpoint has been written (no signing key yet, or nothing journaled). */
  | { kind: 'none' }
  /** The journal extends the checkpoint, and the catalog rows it covers are unchanged. */
  | { kind: 'anchored'; verified: VerifiedCheckpoint }
  /** The journal or the catalog no longer extends the checkpoint. */
  | { kind: 'diverged'; verified: VerifiedCheckpoint; reason: string }
  /** The checkpoint is unreadable, or not signed by a trusted key. */
  | { kind: 'invalid'; reason: string };

/** Compares the journal and the catalog with a checkpoint's bytes (from a file or a registry). */
export function checkAgainstCheckpoint(
  sources: AnchorSources,
  bytes: Uint8Array,
  options: { publicKeys: readonly KeyObject[]; source: string },
): AnchorCheck {
  let verified: VerifiedCheckpoint;
  try {
    verified = readJournalCheckpoint(bytes, options);
  } catch (error) {
    if (error instanceof TrustError) return { kind: 'invalid', reason: error.message };
    throw error;
  }
  const { checkpoint } = verified;
  const journal = sources.journal.compareWithCheckpoint(checkpoint);
  if (!journal.ok) return { kind: 'diverged', verified, reason: journal.reason };
  if (sources.catalog.digestThrough(checkpoint.sequence) !== checkpoint.catalog) {
    return {
      kind: 'diverged',
      verified,
      reason: `the catalog's releases and revocations journaled up to entry ${checkpoint.sequence} are not the ones the checkpoint signed (a catalog row was deleted or edited)`,
    };
  }
  return { kind: 'anchored', verified };
}

/** As checkAgainstCheckpoint, with the checkpoint read from `path`; `none` when there is no file. */
export async function checkAnchor(
  sources: AnchorSources,
  options: { path: string; publicKeys: readonly KeyObject[] },
): Promise<AnchorCheck> {
  let bytes: Buffer;
  try {
    bytes = await readFile(options.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return {
      kind: 'invalid',
      reason: `cannot read journal checkpoint ${options.path}: ${(error as Error).message}`,
    };
  }
  return checkAgainstCheckpoint(sources, bytes, { publicKeys: options.publicKeys, source: options.path });
}

/** The line `herd journal --verify` prints for the checkpoint. */
export function formatAnchorCheck(check: AnchorCheck, path: string): string {
  switch (check.kind) {
    case 'none':
      return `journal checkpoint: none at ${path} yet (herd writes one after each command that journals, when it can unlock HERD_HOME/keys/cosign.key)`;
    case 'anchored': {
      const { checkpoint, keyFingerprint } = check.verified;
      return `journal extends its checkpoint: entry ${checkpoint.sequence} signed ${checkpoint.time} by key ${keyFingerprint.slice(0, 16)}…`;
    }
    case 'diverged':
      return `journal does not extend its checkpoint of ${check.verified.checkpoint.time} (entry ${check.verified.checkpoint.sequence}): ${check.reason}`;
    case 'invalid':
      return `journal checkpoint is not valid: ${check.reason}`;
  }
}

/** What admission asks of the catalog, besides the anchor: src/catalog's Catalog fits it. */
export interface AgreementSource {
  /** `anchoredThrough`: entries a verified checkpoint vouches for need not be hashed again. */
  checkJournalAgreement(options: {
    anchoredThrough?: number;
  }): { ok: true } | { ok: false; disagreements: readonly { journalId: number; reason: string }[] };
}

/**
 * Admission's doubt about the catalog, in one sentence, or undefined: the catalog must agree with
 * the journal, and the journal extend its signed checkpoint (when there is one). Costs a read of the
 * catalog, one scan of the journal, one signature check, and hashing the entries (and the cited
 * entries) since the checkpoint.
 */
export async function catalogInconsistency(
  sources: AnchorSources & { catalog: AgreementSource },
  options: { path: string; publicKeys: readonly KeyObject[] },
): Promise<string | undefined> {
  const anchor = await checkAnchor(sources, options);
  const anchoredThrough = anchor.kind === 'anchored' ? anchor.verified.checkpoint.sequence : undefined;
  const agreement = sources.catalog.checkJournalAgreement(
    anchoredThrough === undefined ? {} : { anchoredThrough },
  );
  // The disagreement first: it names the digest and the entry, where the anchor only says "changed".
  if (!agreement.ok) {
    const [first, ...more] = agreement.disagreements;
    const others = more.length > 0 ? ` (and ${more.length} more)` : '';
    return `the catalog disagrees with the journal at entry ${first?.journalId}: ${first?.reason}${others}`;
  }
  if (anchor.kind === 'diverged' || anchor.kind === 'invalid') return formatAnchorCheck(anchor, options.path);
  return undefined;
}

export type AnchorOutcome =
  | { kind: 'written'; checkpoint: JournalCheckpoint; envelope: Uint8Array }
  /** The last checkpoint already covers the head. */
  | { kind: 'unchanged'; checkpoint: JournalCheckpoint }
  /** Nothing journaled yet. */
  | { kind: 'empty' }
  /** The last checkpoint is not valid or not extended: it is kept as the evidence, not overwritten. */
  | { kind: 'refused'; reason: string };

/**
 * Signs a checkpoint of the journal's head and writes it to `path` (temp file, then rename; mode
 * 0600). One ECDSA signature; the journal is read only from the last checkpoint on.
 */
export async function anchorJournal(
  sources: AnchorSources,
  options: {
    path: string;
    signer: Signer;
    publicKeys: readonly KeyObject[];
    now: () => Date;
  },
): Promise<AnchorOutcome> {
  const signing = keyFingerprint(options.signer.publicKey);
  if (!options.publicKeys.some((key) => keyFingerprint(key) === signing)) {
    return {
      kind: 'refused',
      reason: `the signing key (${signing.slice(0, 16)}…) is not a trusted key, so its checkpoints would not verify: trust it in HERD_HOME/keys/trusted`,
    };
  }
  const last = await checkAnchor(sources, options);
  if (last.kind === 'invalid' || last.kind === 'diverged') {
    return { kind: 'refused', reason: formatAnchorCheck(last, options.path) };
  }
  const head = sources.journal.head();
  if (!head) return { kind: 'empty' };
  if (last.kind === 'anchored' && last.verified.checkpoint.sequence >= head.lastId) {
    return { kind: 'unchanged', checkpoint: last.verified.checkpoint };
  }
  const checkpoint: JournalCheckpoint = {
    sequence: head.lastId,
    hash: head.hash,
    time: options.now().toISOString(),
    catalog: sources.catalog.digestThrough(head.lastId),
  };
  const envelope = Buffer.from(`${JSON.stringify(signJournalCheckpoint(checkpoint, options.signer))}\n`);
  await writeAtomic(options.path, envelope, { mode: 0o600 });
  return { kind: 'written', checkpoint, envelope };
}

/**
 * herd's own key, unlocked without asking anyone: HERD_HOME/keys/cosign.key with HERD_KEY_PASSWORD,
 * else with the local key's password file. `unavailable` says why not, for a one-line notice.
 */
export async function unlockCheckpointSigner(
  home: Pick<HerdHome, 'root'>,
  env: NodeJS.ProcessEnv,
): Promise<{ signer: Signer } | { unavailable: string }> {
  const { privateKeyPath } = keyPairFiles(home);
  try {
    await access(privateKeyPath);
  } catch {
    return { unavailable: `no signing key at ${privateKeyPath} (herd keys generate)` };
  }
  const password = env.HERD_KEY_PASSWORD ?? (await localKeyPassword(home));
  if (password === undefined) {
    return { unavailable: `HERD_KEY_PASSWORD is not set, so ${privateKeyPath} cannot be unlocked` };
  }
  try {
    return { signer: new LocalKeySigner(await readCosignPrivateKey(privateKeyPath, password)) };
  } catch (error) {
    if (error instanceof TrustError) return { unavailable: error.message };
    throw error;
  }
}

async function localKeyPassword(home: Pick<HerdHome, 'root'>): Promise<string | undefined> {
  try {
    return (await readFile(localKeyPasswordFile(home), 'utf8')).trim();
  } catch {
    return undefined;
  }
}
