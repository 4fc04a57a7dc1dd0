/**
 * The baseline of an image, only as its signer vouched for it: the image signature and its
 * attestations are verified with the trusted keys (no network: the keys are handed in), and the
 * file manifest is read from the verified `urn:herd:file-manifest:v1` statement, never from the
 * unsigned referrer. Anything short of that is `untrusted`, with the reason.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Digest, LayoutStore } from '../oci/index.js';
import { fileManifestPredicateType, TrustError, verifyImage } from '../trust/index.js';
import { type Baseline, baselineOf } from './baseline.js';

export type TrustedBaseline =
  | { kind: 'trusted'; baseline: Baseline; keyFingerprint: string }
  | { kind: 'untrusted'; code: string; reason: string };

/** The fields of a file manifest entry the monitor reads (builder/file-manifest.ts). */
const FileManifestEntry = z.object({
  path: z.string().startsWith('/'),
  type: z.enum(['file', 'dir', 'symlink']),
  mode: z.number().int().nonnegative(),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  target: z.string().optional(),
});
const FileManifest = z.object({ entries: z.array(FileManifestEntry) });

export async function loadTrustedBaseline(
  store: LayoutStore,
  digest: Digest,
  options: { publicKeys: readonly KeyObject[] },
): Promise<TrustedBaseline> {
  if (options.publicKeys.length === 0) {
    return { kind: 'untrusted', code: 'NO_TRUSTED_KEYS', reason: 'no trusted keys to verify the image with' };
  }
  let attestations: Awaited<ReturnType<typeof verifyImage>>['attestations'];
  try {
    ({ attestations } = await verifyImage(store, digest, {
      publicKeys: options.publicKeys,
      attestations: true,
    }));
  } catch (error) {
    if (error instanceof TrustError) return { kind: 'untrusted', code: error.code, reason: error.message };
    throw error;
  }
  const attested = attestations.filter((one) => one.predicateType === fileManifestPredicateType);
  if (attested.length !== 1) {
    return {
      kind: 'untrusted',
      code: 'MANIFEST_MISSING',
      reason: `image ${digest} has ${attested.length} verified file manifest attestations, expected exactly 1`,
    };
  }
  const [only] = attested as [(typeof attested)[number]];
  const parsed = FileManifest.safeParse(only.statement.predicate);
  if (!parsed.success) {
    return {
      kind: 'untrusted',
      code: 'MANIFEST_INVALID',
      reason: `the file manifest attested for ${digest} is not herd's shape: ${parsed.error.issues[0]?.message}`,
    };
  }
  return { kind: 'trusted', baseline: baselineOf(parsed.data.entries), keyFingerprint: only.keyFingerprint };
}
