/**
 * Pulling an image with its signatures, attestations and referrers, every digest verified before
 * it is stored: into the store for `herd pull` (journaled), or into a throwaway store for
 * verifying an image where it lies, so remote verification never changes HERD_HOME.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Credentials, Digest } from '../oci/index.js';
import { LayoutStore, type PullResult, pullImage } from '../oci/index.js';
import type { PipelineLogger, PipelineState } from './parts.js';

export interface PullParts {
  store: LayoutStore;
  state: PipelineState;
  credentials: Credentials;
  logger: PipelineLogger;
}

/** Pulls into the store and journals `pull`. */
export async function pullFromRegistry(
  reference: string,
  parts: PullParts,
  options: { insecure?: boolean } = {},
): Promise<PullResult> {
  const { store, state } = parts;
  const result = await pullImage(reference, store, {
    credentials: parts.credentials,
    logger: parts.logger,
    ...(options.insecure ? { insecure: true } : {}),
  });
  state.journal.append({
    actor: state.actor,
    action: 'pull',
    digest: result.digest,
    details: { reference, refName: result.refName },
  });
  return result;
}

export interface PulledForVerification {
  store: LayoutStore;
  digest: Digest;
  /** Removes the throwaway store. */
  cleanup(): Promise<void>;
}

/** Pulls into a throwaway store (verifying every digest on the way) and hands it back; not journaled. */
export async function pullForVerification(
  reference: string,
  parts: Pick<PullParts, 'credentials' | 'logger'>,
): Promise<PulledForVerification> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-verify-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const store = new LayoutStore(dir);
    await store.init();
    const result = await pullImage(reference, store, {
      credentials: parts.credentials,
      logger: parts.logger,
    });
    return { store, digest: result.digest, cleanup };
  } catch (error) {
    // Nobody else holds the folder's name: a failed pull must not leave it (and what it fetched) behind.
    await cleanup();
    throw error;
  }
}
