import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatAgreement } from '../../catalog/index.js';
import { herdHome } from '../../herd-home.js';
import { formatVerifyResult } from '../../journal/index.js';
import { isRegistryReference, pullBlobArtifact, pushBlobArtifact } from '../../oci/index.js';
import { JournalQuery } from '../../server/index.js';
import {
  anchorJournal,
  checkAgainstCheckpoint,
  checkAnchor,
  dsseEnvelopeMediaType,
  formatAnchorCheck,
  journalCheckpointPath,
  journalCheckpointPayloadType,
  keyPairFiles,
  LocalKeySigner,
  loadTrustedKeys,
  readCosignPrivateKey,
  type Signer,
  unlockCheckpointSigner,
} from '../../trust/index.js';
import { checkedArguments } from '../api-arguments.js';
import { controlPlaneConnection } from '../control-plane-client.js';
import { CliError } from '../errors.js';
import { formatTable } from '../format.js';
import { logger } from '../logger.js';
import { keyPassword } from '../password.js';
import { registryCredentials } from '../registry-credentials.js';
import { openState } from '../state-context.js';

/** A checkpoint is a few hundred bytes; anything near this is not one. */
const maxCheckpointBytes = 64 * 1024;

/** The tag a checkpoint is pushed under when the destination names none. */
const checkpointTag = 'journal-checkpoint';

/**
 * `herd journal [--service] [--since] [--verify [--checkpoint <file|ref>]]`: the audit trail, or a
 * check of its hash chain, of the catalog against it, and of both against the signed checkpoint.
 */
export async function journalCommand(options: {
  service?: string;
  since?: string;
  verify?: boolean;
  json?: boolean;
  checkpoint?: string;
  insecure?: boolean;
}): Promise<number> {
  if (options.verify) return verifyJournal(options);
  if (options.checkpoint !== undefined) {
    throw new CliError(
      'ARGUMENT_INVALID',
      '--checkpoint goes with --verify: herd journal --verify --checkpoint <file|ref>',
    );
  }
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const filter = { ...(options.service ? { service: options.service } : {}), ...(since ? { since } : {}) };
  const entries = process.env.HERD_URL ? await remoteEntries(filter) : localEntries(filter);
  if (options.json) {
    console.log(JSON.stringify(entries, null, 2));
    return 0;
  }
  const rows = [['ID', 'AT', 'ACTOR', 'ACTION', 'SERVICE', 'DIGEST', 'DETAILS']];
  for (const e of entries) {
    rows.push([String(e.id), e.at, e.actor, e.action, e.service ?? '', e.digest ?? '', summarize(e.details)]);
  }
  console.log(formatTable(rows));
  return 0;
}

function localEntries(filter: { service?: string; since?: Date }) {
  const state = openState();
  try {
    return state.journal.list(filter);
  } finally {
    state.close();
  }
}

/** With HERD_URL: the remote control plane's journal, its newest 10,000 entries (a viewer token). */
async function remoteEntries(filter: { service?: string; since?: Date }) {
  const query = checkedArguments('journal', JournalQuery, {
    limit: '10000',
    ...(filter.service ? { service: filter.service } : {}),
    ...(filter.since ? { since: filter.since.toISOString() } : {}),
  });
  const { api, call } = controlPlaneConnection();
  return call(api.journal.$get({ query }));
}

/**
 * Exit 1 unless the chain is intact, the catalog agrees with the journal, and the journal extends
 * the last checkpoint (HERD_HOME's, or the one `--checkpoint` names: a file, or a registry
 * reference `herd journal checkpoint --push` wrote). No checkpoint at all is said, not failed.
 */
async function verifyJournal(options: { checkpoint?: string; insecure?: boolean }): Promise<number> {
  const home = herdHome();
  const publicKeys = (await loadTrustedKeys(home)).map((key) => key.publicKey);
  const named =
    options.checkpoint === undefined ? undefined : await readNamedCheckpoint(options.checkpoint, options);
  const path = journalCheckpointPath(home);
  const state = openState();
  try {
    const chain = state.journal.verify();
    console.log(formatVerifyResult(chain));
    const agreement = state.catalog.checkJournalAgreement();
    for (const line of formatAgreement(agreement)) console.log(line);
    const anchor = named
      ? checkAgainstCheckpoint(state, named.bytes, { publicKeys, source: named.source })
      : await checkAnchor(state, { path, publicKeys });
    console.log(formatAnchorCheck(anchor, named?.source ?? path));
    const anchored = anchor.kind === 'anchored' || (anchor.kind === 'none' && !named);
    return chain.ok && agreement.ok && anchored ? 0 : 1;
  } finally {
    state.close();
  }
}

async function readNamedCheckpoint(
  name: string,
  options: { insecure?: boolean },
): Promise<{ bytes: Uint8Array; source: string }> {
  if (isRegistryReference(name)) {
    const pulled = await pullBlobArtifact(
      withDefaultTag(name),
      { artifactType: journalCheckpointPayloadType, maxBytes: maxCheckpointBytes },
      { credentials: registryCredentials(), logger, ...(options.insecure ? { insecure: true } : {}) },
    );
    return { bytes: pulled.bytes, source: `${withDefaultTag(name)} (${pulled.manifestDigest})` };
  }
  const path = resolve(name);
  try {
    return { bytes: await readFile(path), source: path };
  } catch (error) {
    throw new CliError('ARGUMENT_INVALID', `cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
}

/**
 * `herd journal checkpoint [--push <registry/repo[:tag]>]`: signs a checkpoint of the journal now
 * (herd also does after each command that journals), and with --push attaches it to a registry as
 * an OCI artifact, where whoever can write HERD_HOME cannot reach it.
 */
export async function journalCheckpointCommand(options: {
  push?: string;
  insecure?: boolean;
}): Promise<number> {
  const home = herdHome();
  const path = journalCheckpointPath(home);
  const signer = await checkpointSigner();
  const publicKeys = (await loadTrustedKeys(home)).map((key) => key.publicKey);
  const state = openState();
  let outcome: Awaited<ReturnType<typeof anchorJournal>>;
  try {
    outcome = await anchorJournal(state, { path, signer, publicKeys, now: () => new Date() });
  } finally {
    state.close();
  }
  switch (outcome.kind) {
    case 'refused':
      console.error(`herd: journal checkpoint not written: ${outcome.reason}`);
      // The old checkpoint is the evidence; only a person who has looked may set it aside.
      console.error(
        `herd: if the journal is as it should be (a backup restored, a trusted key removed), move ${path} away and run herd journal checkpoint again`,
      );
      return 1;
    case 'empty':
      console.log('the journal is empty: nothing to checkpoint');
      return 0;
    case 'written':
    case 'unchanged':
      console.log(
        `${outcome.kind === 'written' ? 'signed' : 'already signed'} journal checkpoint at entry ${outcome.checkpoint.sequence} (${outcome.checkpoint.hash.slice(0, 16)}…) in ${path}`,
      );
  }
  if (options.push === undefined) return 0;
  const pushed = await pushBlobArtifact(
    withDefaultTag(options.push),
    {
      artifactType: journalCheckpointPayloadType,
      mediaType: dsseEnvelopeMediaType,
      bytes: await readFile(path),
    },
    { credentials: registryCredentials(), logger, ...(options.insecure ? { insecure: true } : {}) },
  );
  console.log(`pushed it to ${pushed.reference} (${pushed.digest})`);
  return 0;
}

/** HERD_KEY_PASSWORD or the local key's password file, else a prompt on the terminal. */
async function checkpointSigner(): Promise<Signer> {
  const unlocked = await unlockCheckpointSigner(herdHome(), process.env);
  if ('signer' in unlocked) return unlocked.signer;
  if (unlocked.unavailable.startsWith('no signing key')) {
    throw new CliError('ARGUMENT_INVALID', `cannot sign a journal checkpoint: ${unlocked.unavailable}`);
  }
  return new LocalKeySigner(
    await readCosignPrivateKey(keyPairFiles(herdHome()).privateKeyPath, await keyPassword()),
  );
}

/** `registry/repo` alone means the `journal-checkpoint` tag, not `latest`. */
function withDefaultTag(reference: string): string {
  const last = reference.slice(reference.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? reference : `${reference}:${checkpointTag}`;
}

/** `--since` takes an ISO date or a duration back from now: 30m, 12h, 7d. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const duration = /^(\d+)([mhd])$/.exec(value);
  if (duration) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(duration[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new CliError(
      'ARGUMENT_INVALID',
      `--since takes an ISO date or a duration such as 12h or 7d, got "${value}"`,
    );
  }
  return date;
}

/** One line of details for the table; --json shows them whole. */
function summarize(details: Record<string, unknown>): string {
  const text = Object.entries(details)
    .filter(([, value]) => !Array.isArray(value))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}
