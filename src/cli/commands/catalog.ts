import { parseStage } from '../../catalog/index.js';
import { herdHome } from '../../herd-home.js';
import { releaseImage, revokeImage } from '../../pipeline/index.js';
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
    const outcome = await releaseImage({ store, state, home: herdHome() }, { service, digest, stage });
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
    const outcome = revokeImage({ state }, { service, digest, reason: options.reason });
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
