/**
 * Releasing, promoting and revoking digests in the catalog, for `herd release`, `herd revoke` and
 * `herd up`. Promotion is a release at a further stage (candidate → accepted → production); the
 * catalog refuses a move back. The catalog appends each release's and revocation's journal entry
 * in the same transaction as its row (src/catalog), so that is where these are journaled.
 */
import type { KeyObject } from 'node:crypto';
import type { ReleaseOutcome, RevokeOutcome, SignatureCheck, Stage } from '../catalog/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import { loadTrustedKeys, TrustError, verifyImage } from '../trust/index.js';
import type { PipelineState } from './parts.js';

export interface ReleaseParts {
  store: LayoutStore;
  state: PipelineState;
  /** HERD_HOME, whose trusted keys a released digest must be signed by. */
  home: Pick<HerdHome, 'root'>;
}

/**
 * Records service → digest at a stage. Only a digest whose signature verifies against one of
 * HERD_HOME's trusted keys is released; a revoked digest or a move back is refused (CatalogError).
 */
export async function releaseImage(
  parts: ReleaseParts,
  request: { service: string; digest: Digest; stage: Stage },
): Promise<ReleaseOutcome> {
  const { store, state } = parts;
  const publicKeys = (await loadTrustedKeys(parts.home)).map((k) => k.publicKey);
  return state.catalog.release(request.service, request.digest, {
    stage: request.stage,
    actor: state.actor,
    verifySignature: trustedSignatureCheck(store, publicKeys),
  });
}

/** The digest never releases or runs again; revoking it twice changes nothing. */
export function revokeImage(
  parts: Pick<ReleaseParts, 'state'>,
  request: { service: string; digest: Digest; reason: string },
): RevokeOutcome {
  const { state } = parts;
  return state.catalog.revoke(request.service, request.digest, {
    reason: request.reason,
    actor: state.actor,
  });
}

/** The catalog's signature check: a signature by one of the given (trusted) keys. */
export function trustedSignatureCheck(store: LayoutStore, publicKeys: readonly KeyObject[]): SignatureCheck {
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
