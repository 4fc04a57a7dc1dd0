/**
 * Signed checkpoints of the journal, as transparency logs sign their tree heads: how many entries
 * there were, the last one's hash, when, and a digest of the catalog rows journaled by then. Kept
 * outside herd.db (and pushable to a registry), a checkpoint catches what the chain alone cannot:
 * a tail cut off together with `journal_head`, a journal rewritten with every hash recomputed, an
 * emptied or replaced herd.db.
 *
 * The wire form is a DSSE envelope (dsse.ts's PAE) signed with herd's cosign key. Its payload type
 * is herd's own, so a checkpoint can never pass for an in-toto attestation, nor one for it.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { keyFingerprint } from './cosign-key.js';
import { type DsseEnvelope, envelopeSignedBy, parseEnvelope, preAuthEncoding } from './dsse.js';
import { TrustError } from './errors.js';
import { type Signer, signerOf } from './signer.js';

export const journalCheckpointPayloadType = 'application/vnd.herd.journal-checkpoint.v1+json';

export interface JournalCheckpoint {
  /** The number of entries, which is the last entry's id. */
  sequence: number;
  /** The last entry's hash (hex), as the chain has it. */
  hash: string;
  /** When it was signed, ISO 8601 UTC. */
  time: string;
  /** sha256 over the catalog rows journaled up to `sequence` (the catalog's `digestThrough`). */
  catalog: string;
}

const JournalCheckpoint = z.object({
  sequence: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.iso.datetime(),
  catalog: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

export function signJournalCheckpoint(checkpoint: JournalCheckpoint, key: KeyObject | Signer): DsseEnvelope {
  // A fixed member order: the bytes are what is signed, and a reader compares nothing but them.
  const { sequence, hash, time, catalog } = checkpoint;
  const body = Buffer.from(JSON.stringify({ sequence, hash, time, catalog }));
  const sig = signerOf(key).sign(preAuthEncoding(journalCheckpointPayloadType, body));
  return {
    payloadType: journalCheckpointPayloadType,
    payload: body.toString('base64'),
    signatures: [{ keyid: '', sig: sig.toString('base64') }],
  };
}

export interface VerifiedCheckpoint {
  checkpoint: JournalCheckpoint;
  /** Which trusted key signed it (sha256 of its SPKI, hex). */
  keyFingerprint: string;
}

/**
 * Reads a checkpoint (untrusted bytes from a file or a registry, named by `source`) and accepts it
 * only when one of `publicKeys` signed it. CHECKPOINT_INVALID or SIGNATURE_INVALID otherwise.
 */
export function readJournalCheckpoint(
  bytes: Uint8Array,
  options: { publicKeys: readonly KeyObject[]; source: string },
): VerifiedCheckpoint {
  const { source } = options;
  let envelope: DsseEnvelope;
  try {
    envelope = parseEnvelope(bytes);
  } catch (error) {
    throw new TrustError(
      'CHECKPOINT_INVALID',
      `journal checkpoint ${source} is not a dsse envelope: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (envelope.payloadType !== journalCheckpointPayloadType) {
    throw new TrustError(
      'CHECKPOINT_INVALID',
      `journal checkpoint ${source} has payload type ${envelope.payloadType}, expected ${journalCheckpointPayloadType}`,
    );
  }
  const signer = options.publicKeys.find((key) => envelopeSignedBy(envelope, key));
  if (!signer) {
    throw new TrustError(
      'SIGNATURE_INVALID',
      `journal checkpoint ${source} is not signed by any of the ${options.publicKeys.length} trusted keys`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  } catch {
    throw new TrustError('CHECKPOINT_INVALID', `journal checkpoint ${source} has a payload that is not json`);
  }
  const parsed = JournalCheckpoint.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrustError(
      'CHECKPOINT_INVALID',
      `journal checkpoint ${source} is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return { checkpoint: parsed.data, keyFingerprint: keyFingerprint(signer) };
}
