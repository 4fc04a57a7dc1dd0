/**
 * The trusted keys: public keys whose signatures admit an image to the catalog and to a fleet.
 * They are plain PEM files in HERD_HOME/keys/trusted/<name>.pub, so an operator can review, add or
 * remove them with ordinary tools, and so can configuration management.
 */
import type { KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import { keyFingerprint, loadPublicKey, publicKeyPemOf } from './cosign-key.js';
import { TrustError } from './errors.js';

export interface TrustedKey {
  name: string;
  path: string;
  publicKey: KeyObject;
  /** sha256 of the SPKI DER, hex. */
  fingerprint: string;
}

const keyNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const suffix = '.pub';

export function trustedKeysDir(home: Pick<HerdHome, 'root'>): string {
  return join(home.root, 'keys', 'trusted');
}

/**
 * Adds a public key under `name`. Trusting the same key again is a no-op; another key under a name
 * already taken is refused (KEY_EXISTS), since silently replacing a trusted key would change what
 * may run.
 */
export async function trustKey(home: Pick<HerdHome, 'root'>, pem: string, name: string): Promise<TrustedKey> {
  if (!keyNamePattern.test(name)) {
    throw new TrustError(
      'KEY_INVALID',
      `trusted key name ${JSON.stringify(name)} is not allowed: expected letters, digits, ".", "_" or "-", at most 64`,
    );
  }
  const publicKey = loadPublicKey(pem);
  const fingerprint = keyFingerprint(publicKey);
  const dir = trustedKeysDir(home);
  const path = join(dir, `${name}${suffix}`);
  const current = await readKeyFile(path);
  if (current) {
    if (current.fingerprint === fingerprint) return current;
    throw new TrustError(
      'KEY_EXISTS',
      `a different key is already trusted as ${name} (sha256 ${current.fingerprint}, got ${fingerprint}): remove ${path} first or pick another name`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(path, publicKeyPemOf(publicKey));
  return { name, path, publicKey, fingerprint };
}

/** Every `*.pub` in the trusted directory, by name. None when the directory does not exist. */
export async function loadTrustedKeys(home: Pick<HerdHome, 'root'>): Promise<TrustedKey[]> {
  const dir = trustedKeysDir(home);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const keys: TrustedKey[] = [];
  for (const file of names.filter((n) => n.endsWith(suffix)).sort()) {
    const key = await readKeyFile(join(dir, file));
    if (key) keys.push(key);
  }
  return keys;
}

async function readKeyFile(path: string): Promise<TrustedKey | undefined> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let publicKey: KeyObject;
  try {
    publicKey = loadPublicKey(pem);
  } catch (error) {
    throw new TrustError('KEY_INVALID', `trusted key ${path} is not a PEM ECDSA P-256 public key`, {
      cause: error,
    });
  }
  const file = path.slice(path.lastIndexOf('/') + 1);
  return { name: file.slice(0, -suffix.length), path, publicKey, fingerprint: keyFingerprint(publicKey) };
}
