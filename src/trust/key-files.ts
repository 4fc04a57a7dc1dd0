/**
 * `herd keys generate` on disk: HERD_HOME/keys/cosign.key (0600) and cosign.pub, or
 * `<prefix>.key` and `<prefix>.pub` like cosign's `--output-key-prefix`. The public key is then
 * trusted under the prefix's base name. Existing key files are never overwritten.
 */
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { HerdHome } from '../herd-home.js';
import { generateCosignKeyPair, loadCosignPrivateKey } from './cosign-key.js';
import { TrustError } from './errors.js';
import { type TrustedKey, trustedKeysDir, trustKey } from './trusted-keys.js';

export interface KeyPairFiles {
  privateKeyPath: string;
  publicKeyPath: string;
}

export function keyPairFiles(
  home: Pick<HerdHome, 'root'>,
  options: { outputPrefix?: string } = {},
): KeyPairFiles {
  const prefix = options.outputPrefix ? resolve(options.outputPrefix) : join(home.root, 'keys', 'cosign');
  return { privateKeyPath: `${prefix}.key`, publicKeyPath: `${prefix}.pub` };
}

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
    if (await exists(path)) {
      throw new TrustError(
        'KEY_EXISTS',
        `${path} already exists: expected no key there, so nothing was overwritten`,
      );
    }
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

/**
 * Writes a temp file with its final mode, then hard-links it into place: the link fails if the
 * target appeared meanwhile, so a key is never overwritten and never seen half-written.
 */
async function writeNew(path: string, data: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, data, { mode, flag: 'wx' });
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TrustError(
        'KEY_EXISTS',
        `${path} already exists: expected no key there, so nothing was overwritten`,
      );
    }
    throw error;
  } finally {
    await unlink(temp);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
