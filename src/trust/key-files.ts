/**
 * `herd keys generate` on disk: HERD_HOME/keys/cosign.key (0600) and cosign.pub, or
 * `<prefix>.key` and `<prefix>.pub` like cosign's `--output-key-prefix`. The public key is then
 * trusted under the prefix's base name. Existing key files are never overwritten.
 */
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createExclusive, exists } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import { generateCosignKeyPair, loadCosignPrivateKey } from './cosign-key.js';
import { TrustError } from './errors.js';
import { type KeyPairFiles, keyPairFiles } from './key-pair-files.js';
import { type TrustedKey, trustedKeysDir, trustKey } from './trusted-keys.js';

export { type KeyPairFiles, keyPairFiles } from './key-pair-files.js';

/**
 * Where `herd up` keeps the random password of the local key it made when HERD_KEY_PASSWORD was
 * not set (mode 0600): a local key for a local fleet, unlocked without asking anyone.
 */
export function localKeyPasswordFile(home: Pick<HerdHome, 'root'>): string {
  return join(home.root, 'keys', 'cosign.password');
}

export async function writeCosignKeyPair(
  home: Pick<HerdHome, 'root'>,
  options: { password: string; outputPrefix?: string },
): Promise<KeyPairFiles & { trusted: TrustedKey }> {
  const files = keyPairFiles(home, options);
  const trustName = basename(files.publicKeyPath, '.pub');
  for (const path of [
    files.privateKeyPath,
    files.publicKeyPath,
    join(trustedKeysDir(home), `${trustName}.pub`),
  ]) {
    if (await exists(path)) throw keyExists(path);
  }
  const pair = generateCosignKeyPair(options.password);
  await writeNew(files.privateKeyPath, pair.privateKeyPem, 0o600);
  // In HERD_HOME everything is private; a pair written elsewhere (--output) is meant to be shared.
  await writeNew(files.publicKeyPath, pair.publicKeyPem, options.outputPrefix ? 0o644 : 0o600);
  const trusted = await trustKey(home, pair.publicKeyPem, trustName);
  return { ...files, trusted };
}

/** Reads and decrypts a cosign private key file (KEY_PASSWORD_WRONG on a wrong password). */
export async function readCosignPrivateKey(path: string, password: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new TrustError('KEY_INVALID', `cannot read private key ${path}`, { cause: error });
  }
  return loadCosignPrivateKey(pem, password);
}

/** A key is never overwritten and never seen half-written, even when another writer races us. */
async function writeNew(path: string, data: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (!(await createExclusive(path, data, { mode }))) throw keyExists(path);
}

function keyExists(path: string): TrustError {
  return new TrustError(
    'KEY_EXISTS',
    `${path} already exists: expected no key there, so nothing was overwritten`,
  );
}
