/**
 * Where herd's own signing key pair lives. Apart from key-files.ts, which reads and writes keys
 * (and loads the cosign key code and its schemas), so that asking whether there is a key at all,
 * as every command that journaled does before signing a checkpoint, loads nothing else.
 */
import { join, resolve } from 'node:path';
import type { HerdHome } from '../herd-home.js';

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
