/**
 * InRelease: the signed root of trust for one suite. Verification needs no network: the keyring
 * bytes and the InRelease bytes are handed in. Only the text inside the signature is returned,
 * so nothing outside the signed block can influence what herd trusts.
 */
import type * as openpgp from 'openpgp';
import { field, parseControlParagraphs } from './control.js';
import { DebianError } from './errors.js';

export interface ReleaseIndexEntry {
  sha256: string;
  size: number;
}

export interface ReleaseFile {
  suite?: string;
  codename?: string;
  date?: Date;
  validUntil?: Date;
  architectures: string[];
  components: string[];
  /** Release says Packages for `all` live inside each architecture's index. */
  noSeparateArchAll: boolean;
  /** Indexes may be fetched by content hash, which is immune to a mirror updating mid-download. */
  acquireByHash: boolean;
  /** Path relative to `dists/<suite>/` → hash and size, from the `SHA256:` section. */
  sha256: Map<string, ReleaseIndexEntry>;
}

export interface VerifiedRelease {
  release: ReleaseFile;
  /** Fingerprint of the key whose signature verified. */
  signer: string;
}

/**
 * openpgp, loaded when a signature or keyring is first read: it is about 20 ms to load and compile,
 * which a build from a lock, whose .debs are checked against the lock alone, never needs.
 */
const loadOpenpgp = () => import('openpgp');

/** How far a Release's Date may be ahead of this machine's clock before it is refused. */
const maxClockSkewMs = 10 * 60 * 1000;

/** Reads a keyring file's bytes: binary (like /usr/share/keyrings/*.gpg) or ASCII-armored. */
export async function readKeyring(
  bytes: Uint8Array,
  options: { name: string },
): Promise<openpgp.PublicKey[]> {
  const { readKeys } = await loadOpenpgp();
  try {
    const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
    const keys = text.includes('-----BEGIN PGP')
      ? await readKeys({ armoredKeys: Buffer.from(bytes).toString('utf8') })
      : await readKeys({ binaryKeys: bytes });
    return keys.map((key) => key.toPublic());
  } catch (error) {
    throw new DebianError('KEYRING_UNREADABLE', `keyring ${options.name} could not be read as OpenPGP keys`, {
      cause: error,
    });
  }
}

/**
 * Verifies a clearsigned InRelease against the keyring and returns the Release it signs.
 * Like apt, one good signature by a key in the keyring suffices; others (unknown keys) are ignored.
 */
export async function verifyInRelease(
  inRelease: string,
  options: { keys: openpgp.PublicKey[]; name: string; now?: Date },
): Promise<VerifiedRelease> {
  const { readCleartextMessage, verify } = await loadOpenpgp();
  let message: openpgp.CleartextMessage;
  try {
    message = await readCleartextMessage({ cleartextMessage: inRelease });
  } catch (error) {
    throw new DebianError('SIGNATURE_MISSING', `${options.name} is not a clearsigned OpenPGP message`, {
      cause: error,
    });
  }
  const result = await verify({ message, verificationKeys: options.keys });
  let signer: string | undefined;
  const reasons: string[] = [];
  for (const signature of result.signatures) {
    try {
      await signature.verified;
      const key = options.keys.find((k) => k.getKeys(signature.keyID).length > 0);
      signer = key?.getFingerprint() ?? signature.keyID.toHex();
      break;
    } catch (error) {
      reasons.push(`key ${signature.keyID.toHex()}: ${(error as Error).message}`);
    }
  }
  if (signer === undefined) {
    throw new DebianError(
      'SIGNATURE_INVALID',
      `${options.name} has no valid signature from the keyring (${reasons.join('; ') || 'no signatures'})`,
    );
  }
  const release = parseRelease(String(result.data), { name: options.name });
  const now = options.now ?? new Date();
  if (release.validUntil && release.validUntil.getTime() < now.getTime()) {
    throw new DebianError(
      'RELEASE_EXPIRED',
      `${options.name} expired at ${release.validUntil.toISOString()} (Valid-Until); the mirror is stale`,
    );
  }
  // As apt's "is not valid yet": a Release from the future would also be remembered as the newest
  // accepted, and every real Release after it would look like a rollback.
  if (release.date && release.date.getTime() > now.getTime() + maxClockSkewMs) {
    throw new DebianError(
      'RELEASE_NOT_YET_VALID',
      `${options.name} is dated ${release.date.toISOString()}, later than now (${now.toISOString()}); ` +
        "check this machine's clock, or the mirror",
    );
  }
  return { release, signer };
}

/** Parses the Release fields herd uses. */
export function parseRelease(text: string, options: { name: string }): ReleaseFile {
  const [paragraph] = parseControlParagraphs(text);
  if (!paragraph) throw new DebianError('RELEASE_MALFORMED', `${options.name} holds no Release fields`);
  const sha256 = new Map<string, ReleaseIndexEntry>();
  for (const line of (field(paragraph, 'SHA256') ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [hash = '', size = '', path = ''] = parts;
    if (!/^[0-9a-f]{64}$/.test(hash) || !/^\d+$/.test(size)) {
      throw new DebianError('RELEASE_MALFORMED', `${options.name}: bad SHA256 line "${line.trim()}"`);
    }
    sha256.set(path, { sha256: hash, size: Number(size) });
  }
  if (sha256.size === 0) {
    throw new DebianError(
      'RELEASE_MALFORMED',
      `${options.name} has no SHA256 section; herd needs SHA256 digests`,
    );
  }
  const list = (name: string) => (field(paragraph, name) ?? '').split(/\s+/).filter(Boolean);
  const suite = field(paragraph, 'Suite')?.trim();
  const codename = field(paragraph, 'Codename')?.trim();
  // A date that does not parse is not skipped: an unreadable Valid-Until would otherwise never
  // expire, and an unreadable Date could not be compared with the one herd remembers.
  const date = parseDate(field(paragraph, 'Date'), { field: 'Date', name: options.name });
  const validUntil = parseDate(field(paragraph, 'Valid-Until'), { field: 'Valid-Until', name: options.name });
  return {
    ...(suite ? { suite } : {}),
    ...(codename ? { codename } : {}),
    ...(date ? { date } : {}),
    ...(validUntil ? { validUntil } : {}),
    architectures: list('Architectures'),
    components: list('Components'),
    noSeparateArchAll: /\bPackages\b/.test(field(paragraph, 'No-Support-for-Architecture-all') ?? ''),
    acquireByHash: (field(paragraph, 'Acquire-By-Hash') ?? '').trim().toLowerCase() === 'yes',
    sha256,
  };
}

/** Release dates are RFC 2822 in UTC, as the archive writes them: `Sat, 01 Jun 2024 00:00:00 UTC`. */
function parseDate(value: string | undefined, options: { field: string; name: string }): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value.trim());
  if (Number.isNaN(date.getTime())) {
    throw new DebianError(
      'RELEASE_MALFORMED',
      `${options.name}: ${options.field} "${value.trim()}" is not a date, expected e.g. "Sat, 01 Jun 2024 00:00:00 UTC"`,
    );
  }
  return date;
}

/**
 * Mix-and-match: a Release signed for one suite must not stand in for another (the main suite's
 * index served as the security suite would dodge the security suite's short Valid-Until). As apt's
 * CheckDist, the Release's Suite or Codename must be the suite that was asked for.
 */
export function checkReleaseSuite(release: ReleaseFile, options: { suite: string; name: string }): void {
  if (release.suite === options.suite || release.codename === options.suite) return;
  throw new DebianError(
    'RELEASE_WRONG_SUITE',
    `${options.name} is signed for suite ${release.suite ?? '(none)'}, codename ${
      release.codename ?? '(none)'
    }, but suite ${options.suite} was asked for; a Release of another suite is not accepted in its place`,
  );
}
