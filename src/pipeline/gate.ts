/**
 * Gating an image in the store with what herd knows of it: the spec and lock when given, the
 * vulnerability data when `herd vulndb update` has run (its absence is a warning in the verdict,
 * not an error). The verdict is stored with the image, names or quarantines it, and is journaled
 * here, so `herd sign` can attest it and admission can insist on it.
 */

import type { Clock } from '../common/index.js';
import type { Profile, Verdict } from '../gate/index.js';
import {
  gateImage,
  gateLayerCache,
  loadVulnDb,
  storeVerdict,
  type VulnDb,
  VulnDbError,
} from '../gate/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import type { LoadedSpec } from '../specfile/index.js';
import type { PipelineLogger, PipelineState } from './parts.js';

export interface GateParts {
  store: LayoutStore;
  state: PipelineState;
  /** HERD_HOME, where the vulnerability data is cached. */
  home: HerdHome;
  /** Decides waiver expiry and the verdict's time. */
  clock: Clock;
  logger: PipelineLogger;
}

export interface GateRequest {
  /** The spec the image was built from; without it the rules judge the image alone. */
  spec?: LoadedSpec;
  /** herd.lock's own bytes, checked against the image's label for the signed-suites rule. */
  lockFile?: Uint8Array;
  /** Overrides the spec's `gate.profile`. */
  profile?: Profile;
}

/** Gates, stores the verdict, settles the image's quarantine and journals `gate`. */
export async function gateStoredImage(digest: Digest, parts: GateParts, request: GateRequest = {}) {
  const { store, state } = parts;
  const spec = request.spec?.spec;
  // Loaded while the image loads (gateImage awaits it, and throws its error first).
  const vulndb = loadVulnDbIfPresent(parts);
  const verdict = await gateImage(store, digest, {
    now: new Date(parts.clock.now()),
    layerCache: gateLayerCache(parts.home),
    ...(spec ? { spec, gate: spec.gate, suite: spec.image.suite } : {}),
    ...(request.lockFile ? { lockFile: request.lockFile } : {}),
    ...(request.profile ? { profile: request.profile } : {}),
    vulndb,
  });
  await storeVerdict(store, digest, verdict);
  await settleQuarantine(store, digest, verdict.passed);
  state.journal.append({
    actor: state.actor,
    action: 'gate',
    ...(spec ? { service: spec.service } : {}),
    digest,
    details: {
      profile: verdict.profile,
      passed: verdict.passed,
      failing: verdict.summary.failing,
      waived: verdict.summary.waived,
      expiredWaivers: verdict.summary.expiredWaivers,
    },
  });
  return verdict satisfies Verdict;
}

/**
 * A built image waits unnamed in the store until its gate passes; then it gets the name it was
 * built for. A failing gate leaves it unnamed, marked `gate-failed` for `herd image ls`. An image
 * that is already named keeps its name: sign and admission read the latest verdict, not the name.
 */
async function settleQuarantine(store: LayoutStore, digest: Digest, passed: boolean): Promise<void> {
  const quarantined = await store.quarantined(digest);
  if (!quarantined) return;
  if (passed) {
    await store.nameImage(digest, quarantined.intendedName);
  } else if (quarantined.reason !== 'gate-failed') {
    const manifest = (await store.readIndex()).manifests.find((m) => m.digest === digest);
    if (manifest)
      await store.quarantine(manifest, { intendedName: quarantined.intendedName, reason: 'gate-failed' });
  }
}

async function loadVulnDbIfPresent(parts: Pick<GateParts, 'home' | 'logger'>): Promise<VulnDb | undefined> {
  try {
    return await loadVulnDb(parts.home);
  } catch (error) {
    if (error instanceof VulnDbError && error.code === 'VULNDB_MISSING') {
      parts.logger.warn(
        {},
        'no vulnerability data: run herd vulndb update; the gate reports it as HERD-V002',
      );
      return undefined;
    }
    throw error;
  }
}
