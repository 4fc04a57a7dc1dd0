/**
 * Reading back the verdicts `storeVerdict` attached to an image. The latest one counts: a waiver
 * may have expired or the vulnerability data moved on since an earlier run, so an old pass says
 * nothing about today.
 */
import type { Digest, LayoutStore } from '../oci/index.js';
import { GateError } from './errors.js';
import { type Verdict, verdictArtifactType } from './verdict.js';

export async function latestVerdict(store: LayoutStore, digest: Digest): Promise<Verdict | undefined> {
  let latest: Verdict | undefined;
  for (const referrer of await store.referrers(digest, { artifactType: verdictArtifactType })) {
    const manifest = await store.getManifest(referrer.digest);
    for (const layer of manifest.layers) {
      const verdict = parseVerdict(await store.getBlob(layer.digest), layer.digest);
      if (verdict.image !== digest) {
        throw new GateError(
          'VERDICT_MISMATCH',
          `verdict ${layer.digest} attached to ${digest} is about ${verdict.image}`,
        );
      }
      if (!latest || verdict.evaluatedAt > latest.evaluatedAt) latest = verdict;
    }
  }
  return latest;
}

function parseVerdict(bytes: Buffer, digest: string): Verdict {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Verdict;
    if (typeof value.image === 'string' && typeof value.passed === 'boolean' && value.evaluatedAt) {
      return value;
    }
  } catch {
    // fall through: the same error for bad JSON and a wrong shape
  }
  throw new GateError('VERDICT_INVALID', `gate verdict ${digest} is not a herd verdict document`);
}
