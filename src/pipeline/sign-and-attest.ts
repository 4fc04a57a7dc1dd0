/**
 * Signing an image the gate passed, and attesting its build (SBOMs, provenance, file manifest,
 * run template) and its verdict, for `herd sign` and `herd up`. A signature is what admission
 * trusts, so a failed or ungated image is never signed: that would launder it.
 */

import type { Verdict } from '../gate/index.js';
import { latestVerdict } from '../gate/index.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import type { Signer } from '../trust/index.js';
import { attestImage, collectBuildStatements, gateVerdictStatement, signImage } from '../trust/index.js';
import { imageService } from './image-service.js';
import type { PipelineState } from './parts.js';

/** Whether an image may be signed: only its latest verdict counts, and only if it passed. */
export type Signability =
  | { kind: 'passed'; verdict: Verdict }
  | { kind: 'failed'; verdict: Verdict }
  | { kind: 'ungated' };

/** Asked before the key is unlocked, so a refusal costs no password prompt. */
export async function signability(store: LayoutStore, digest: Digest): Promise<Signability> {
  const verdict = await latestVerdict(store, digest);
  if (!verdict) return { kind: 'ungated' };
  return verdict.passed ? { kind: 'passed', verdict } : { kind: 'failed', verdict };
}

export interface SignParts {
  store: LayoutStore;
  state: PipelineState;
  signer: Signer;
}

/**
 * Signs `digest` for `identity` (the repository it will be pulled from, which podman's
 * matchRepository checks), attests its build and its verdict (the passing one `signability`
 * found), and journals `sign`.
 */
export async function signAndAttest(
  digest: Digest,
  parts: SignParts,
  request: { identity: string; verdict: Verdict },
) {
  const { store, state, signer } = parts;
  const { identity, verdict } = request;
  const signature = await signImage(store, digest, { key: signer, identity });
  const statements = [
    ...(await collectBuildStatements(store, digest)),
    await gateVerdictStatement(store, digest, verdict),
  ];
  const attestation = await attestImage(store, digest, { key: signer, statements, replace: true });
  state.journal.append({
    actor: state.actor,
    action: 'sign',
    service: await imageService(store, digest),
    digest,
    details: {
      identity,
      signatures: signature.added.length,
      attestations: attestation.added.map((l) => l.annotations?.predicateType ?? l.mediaType),
    },
  });
  return { signature, attestation, statements };
}
