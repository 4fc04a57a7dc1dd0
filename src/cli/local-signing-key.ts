/**
 * The signing key `herd up` uses on a machine that has none yet. With HERD_KEY_PASSWORD the key is
 * encrypted under it, as `herd keys generate` does. Without it, `herd up` must still work
 * unattended on a fresh clone, so it makes a random password and keeps it beside the key, mode 0600,
 * and says so: a local key for a local fleet, never one to sign releases others trust.
 */
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { writeAtomic } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import type { RemediationSetup } from '../server/index.js';
import {
  keyPairFiles,
  LocalKeySigner,
  localKeyPasswordFile,
  readCosignPrivateKey,
  type Signer,
  writeCosignKeyPair,
} from '../trust/index.js';
import { CliError } from './errors.js';

export interface LocalSigningKey {
  key: KeyObject;
  /** What was done, to tell the user. */
  describe: string;
}

export async function localSigningKey(home: HerdHome, env: NodeJS.ProcessEnv): Promise<LocalSigningKey> {
  const files = keyPairFiles(home);
  const passwordFile = localKeyPasswordFile(home);
  const exists = await present(files.privateKeyPath);
  if (env.HERD_KEY_PASSWORD !== undefined) {
    if (!exists) await writeCosignKeyPair(home, { password: env.HERD_KEY_PASSWORD });
    return {
      key: await readCosignPrivateKey(files.privateKeyPath, env.HERD_KEY_PASSWORD),
      describe: `${exists ? 'using' : 'generated'} ${files.privateKeyPath} (password from HERD_KEY_PASSWORD)`,
    };
  }
  if (exists) {
    if (!(await present(passwordFile))) {
      throw new CliError(
        'KEY_PASSWORD_MISSING',
        `${files.privateKeyPath} exists and no password is given: set HERD_KEY_PASSWORD`,
      );
    }
    const password = (await readFile(passwordFile, 'utf8')).trim();
    return {
      key: await readCosignPrivateKey(files.privateKeyPath, password),
      describe: `using ${files.privateKeyPath} (local key, password in ${passwordFile})`,
    };
  }
  const password = randomBytes(24).toString('base64url');
  await mkdir(home.keys, { recursive: true, mode: 0o700 });
  await writeAtomic(passwordFile, `${password}\n`, { mode: 0o600 });
  await writeCosignKeyPair(home, { password });
  return {
    key: await readCosignPrivateKey(files.privateKeyPath, password),
    describe: `generated a local signing key ${files.privateKeyPath}; its password is in ${passwordFile} (set HERD_KEY_PASSWORD to choose one)`,
  };
}

async function present(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The remediation loop's key, for `herd serve` and `herd up`: unlocked when a run first reaches its
 * sign stage. `herd up` made the key already; `herd serve` never makes one, since a key nobody
 * trusts would only sign releases admission refuses.
 */
export function remediationSetup(
  home: HerdHome,
  env: NodeJS.ProcessEnv,
  herdVersion: string,
): RemediationSetup {
  let unlocked: Promise<Signer> | undefined;
  return {
    herdVersion,
    signer: () => {
      unlocked ??= (async () => {
        if (!(await present(keyPairFiles(home).privateKeyPath))) {
          throw new CliError(
            'KEY_PASSWORD_MISSING',
            `no signing key at ${keyPairFiles(home).privateKeyPath}: run herd up once, or herd keys generate`,
          );
        }
        return new LocalKeySigner((await localSigningKey(home, env)).key);
      })();
      // A failed unlock is tried again by the next run (the password may have been set since).
      unlocked.catch(() => {
        unlocked = undefined;
      });
      return unlocked;
    },
  };
}
