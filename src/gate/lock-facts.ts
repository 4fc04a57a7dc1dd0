/**
 * What the gate needs from herd.lock: which suites were verified and who signed them, and which
 * suite each package came from. The lock is not stored with the image, but its digest is (the
 * config label `dev.herd.lock.digest`), so a lock handed in is checked against the image before it
 * is believed. The bytes are an untrusted edge; only the fields read here are checked, and
 * src/builder's own schema stays the authority on the whole file (gate/ may not import builder/).
 */
import { arrayAt, at, objectAt, ShapeError, stringAt } from '../common/index.js';
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

/** Only the fields read here, checked by hand (src/common/json-shape.ts), not with zod: it is on every gate's path. */
function lockFileOf(data: unknown): Pick<LockFacts, 'suites' | 'packages'> {
  const lock = objectAt(data, '');
  return {
    suites: arrayAt(lock.suites, 'suites', (value, path) => {
      const suite = objectAt(value, path);
      stringAt(suite.inRelease, at(path, 'inRelease'));
      return {
        suite: stringAt(suite.suite, at(path, 'suite')),
        signer: stringAt(suite.signer, at(path, 'signer')),
      };
    }),
    packages: arrayAt(lock.packages, 'packages', (value, path) => {
      const item = objectAt(value, path);
      return {
        name: stringAt(item.name, at(path, 'name')),
        version: stringAt(item.version, at(path, 'version')),
        architecture: stringAt(item.architecture, at(path, 'architecture')),
        suite: stringAt(item.suite, at(path, 'suite')),
      };
    }),
  };
}

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
  try {
    return { digest, ...lockFileOf(data) };
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new GateError('LOCK_INVALID', `the lock ${digest}: ${error.message}`);
  }
}
