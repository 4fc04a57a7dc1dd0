/**
 * What the gate needs from herd.lock: which suites were verified and who signed them, and which
 * suite each package came from. The lock is not stored with the image, but its digest is (the
 * config label `dev.herd.lock.digest`), so a lock handed in is checked against the image before it
 * is believed. The bytes are an untrusted edge; the schema lists only the fields read here, and
 * src/builder's own schema stays the authority on the whole file (gate/ may not import builder/).
 */
import { z } from 'zod';
import { sha256Digest } from '../oci/index.js';
import { GateError } from './errors.js';

export const lockDigestLabel = 'dev.herd.lock.digest';

export interface LockFacts {
  /** `sha256:<hex>` of the lock's bytes, equal to the image's label. */
  digest: string;
  /** Suites whose InRelease was verified, with the fingerprint of the key that signed each. */
  suites: { suite: string; signer: string }[];
  packages: { name: string; version: string; architecture: string; suite: string }[];
}

const LockFile = z.object({
  suites: z.array(z.object({ suite: z.string(), signer: z.string(), inRelease: z.string() })),
  packages: z.array(
    z.object({ name: z.string(), version: z.string(), architecture: z.string(), suite: z.string() }),
  ),
});

/** Parses herd.lock's bytes and checks that they are the lock the image names. */
export function lockFactsOf(
  bytes: Uint8Array | string,
  image: { digest: string; label?: string },
): LockFacts {
  const digest = sha256Digest(bytes);
  if (image.label === undefined) {
    throw new GateError(
      'LOCK_MISMATCH',
      `image ${image.digest} has no ${lockDigestLabel} label, so no lock can be matched to it; gate it without the lock`,
    );
  }
  if (digest !== image.label) {
    throw new GateError(
      'LOCK_MISMATCH',
      `the lock handed in hashes to ${digest}, but image ${image.digest} was built from ${image.label}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new GateError('LOCK_INVALID', `the lock ${digest} is not JSON`, { cause });
  }
  const parsed = LockFile.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GateError(
      'LOCK_INVALID',
      `the lock ${digest}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return {
    digest,
    suites: parsed.data.suites.map(({ suite, signer }) => ({ suite, signer })),
    packages: parsed.data.packages,
  };
}
