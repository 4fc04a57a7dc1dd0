import { parseStage } from '../../catalog/stages.js';
import type { SignatureCheck } from '../../catalog/types.js';
import { herdHome } from '../../herd-home.js';
import type { LayoutStore } from '../../oci/layout-store.js';
import type { Digest } from '../../oci/types.js';
import { TrustError } from '../../trust/errors.js';
import { verifyImage } from '../../trust/image-signatures.js';
import { loadTrustedKeys } from '../../trust/trusted-keys.js';
import { formatTable } from '../format.js';
import { openStore } from '../spec-context.js';
import { openState } from '../state-context.js';

/**
 * `herd release <service> <ref> --stage`: records service → digest at a stage. Only a digest whose
 * signature verifies against a trusted key (HERD_HOME/keys/trusted) is accepted.
 */
export async function releaseCommand(
  service: string,
  reference: string,
  options: { stage: string },
): Promise<number> {
  const stage = parseStage(options.stage);
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  const state = openState();
  try {
    const outcome = await state.catalog.release(service, digest, {
      stage,
      actor: state.actor,
      verifySignature: await trustedSignatureCheck(store),
    });
    console.log(
      outcome.kind === 'released'
        ? `released ${service} ${digest} at ${stage} (journal entry ${outcome.journalEntry.id})`
        : `${service} ${digest} is already at ${outcome.release.stage}; nothing changed`,
    );
    return 0;
  } finally {
    state.close();
  }
}

/** The catalog's signature check: a signature by one of HERD_HOME's trusted keys. */
export async function trustedSignatureCheck(store: LayoutStore): Promise<SignatureCheck> {
  const publicKeys = (await loadTrustedKeys(herdHome())).map((k) => k.publicKey);
  return async (digest: Digest) => {
    if (publicKeys.length === 0) return { ok: false, reason: 'no trusted keys (run herd keys generate)' };
    try {
      await verifyImage(store, digest, { publicKeys });
      return { ok: true };
    } catch (error) {
      if (error instanceof TrustError) return { ok: false, reason: error.message };
      throw error;
    }
  };
}

/** `herd revoke <service> <digest> --reason`: the digest never releases or runs again. */
export async function revokeCommand(
  service: string,
  reference: string,
  options: { reason: string },
): Promise<number> {
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  const state = openState();
  try {
    const outcome = state.catalog.revoke(service, digest, { reason: options.reason, actor: state.actor });
    console.log(
      outcome.kind === 'revoked' ? `revoked ${digest}: ${options.reason}` : `${digest} was already revoked`,
    );
    return 0;
  } finally {
    state.close();
  }
}

/** `herd catalog [service]`: every released digest, its furthest stage and any revocation. */
export async function catalogCommand(
  service: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  const state = openState();
  try {
    const entries = state.catalog.entries(service);
    if (options.json) {
      console.log(JSON.stringify(entries, null, 2));
      return 0;
    }
    const rows = [['SERVICE', 'DIGEST', 'STAGE', 'RELEASED', 'BY', 'REVOKED']];
    for (const e of entries) {
      rows.push([
        e.service,
        e.digest,
        e.stage,
        e.releasedAt,
        e.releasedBy,
        e.revoked ? `yes: ${e.revoked.reason}` : '',
      ]);
    }
    console.log(formatTable(rows));
    return 0;
  } finally {
    state.close();
  }
}
