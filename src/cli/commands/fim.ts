/**
 * `herd fim init|check <dir>`: file integrity for hosts and VMs built from herd images. Exit codes
 * follow AIDE, not herd's usual 0/1/2, so that existing AIDE wrappers read them unchanged: `check`
 * gives 1 added + 2 removed + 4 changed, and every error is 14 or more (14 write, 15 argument,
 * 17 configuration or key, 18 baseline unreadable, truncated, malformed or not validly signed).
 */
import { readFile, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HerdError } from '../../herd-error.js';
import { herdHome } from '../../herd-home.js';
import {
  keyPairFiles,
  LocalKeySigner,
  loadPublicKey,
  loadTrustedKeys,
  readCosignPrivateKey,
} from '../../trust/index.js';
import type { FimChange, FimEntry } from '../../watch/index.js';
import { checkBaseline, FimError, type FimErrorCode, initBaseline } from '../../watch/index.js';
import { exitBitmask } from '../fim-exit-status.js';
import { keyPassword } from '../password.js';

/** AIDE's generic error codes (aide(1), EXIT STATUS). */
const aideExit = { write: 14, argument: 15, configuration: 17, io: 18 } as const;

/** `herd fim init <dir> [-o file] [--key file]`: record the tree and sign the record. */
export async function fimInitCommand(
  dir: string,
  options: { output?: string; key?: string; crossMounts?: boolean; workers?: string },
): Promise<number> {
  return withAideExitCodes(async () => {
    const output = options.output ? resolve(options.output) : await defaultBaselinePath(dir);
    const key = await readCosignPrivateKey(
      resolve(options.key ?? keyPairFiles(herdHome()).privateKeyPath),
      await keyPassword(),
    );
    const started = performance.now();
    const result = await initBaseline(dir, {
      output,
      signer: new LocalKeySigner(key),
      ...(options.crossMounts ? { crossMounts: true } : {}),
      ...workersOption(options.workers),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`baseline ${result.path}`);
    console.log(
      `  ${result.entries} entries under ${result.header.root} in ${seconds} s, xattrs ${result.header.xattrs === 'unsupported' ? 'not recorded (the @napi-rs/xattr binding does not load on this platform)' : `recorded (${result.header.xattrs})`}`,
    );
    console.log(`  signed ${result.digest}`);
    return 0;
  });
}

/**
 * `herd fim check <dir> [--baseline file] [--key pub] [--full]`: verify the baseline's signature,
 * then report what changed. Without --full, a file whose size, mtime, ctime and inode match the
 * baseline keeps its recorded hash; --full reads every file again, as AIDE does.
 */
export async function fimCheckCommand(
  dir: string,
  options: { baseline?: string; key?: string; full?: boolean; workers?: string },
): Promise<number> {
  return withAideExitCodes(async () => {
    const baseline = options.baseline ? resolve(options.baseline) : await defaultBaselinePath(dir);
    const keys = options.key
      ? [loadPublicKey(await readFile(resolve(options.key), 'utf8'))]
      : (await loadTrustedKeys(herdHome())).map((k) => k.publicKey);
    // checkBaseline refuses a baseline of another root, so this is the root its paths are under.
    const root = await realOrResolved(dir);
    const started = performance.now();
    const result = await checkBaseline(dir, {
      baseline,
      keys,
      full: options.full ?? false,
      onChange: (change) => console.log(describeChange(change, root)),
      ...workersOption(options.workers),
    });
    const { added, removed, changed } = result.summary;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mode = options.full
      ? 'full: every file hashed'
      : `fast: ${result.reused} unchanged files not re-hashed`;
    console.log(
      `${root}: ${added} added, ${removed} removed, ${changed} changed in ${seconds} s (${mode}; baseline ${result.baseline.entryCount} entries, signed by ${result.baseline.signedBy.slice(0, 16)}…)`,
    );
    return exitBitmask(result.summary);
  });
}

/** HERD_HOME/fim/<name>.baseline, the name spelled from the directory's real path: /usr/lib → usr-lib. */
export async function defaultBaselinePath(dir: string): Promise<string> {
  const root = await realOrResolved(dir);
  const name =
    root === '/'
      ? 'root'
      : root
          .slice(1)
          .replaceAll('/', '-')
          .replace(/[^A-Za-z0-9._-]/g, '_');
  return join(herdHome().root, 'fim', `${name}.baseline`);
}

function describeChange(change: FimChange, base: string): string {
  switch (change.kind) {
    case 'added':
      return `added    ${absolute(base, change.entry)}`;
    case 'removed':
      return `removed  ${absolute(base, change.entry)}`;
    case 'changed': {
      const details = change.attributes.map((attribute) => {
        const before = change.before[attribute];
        const after = change.after[attribute];
        switch (attribute) {
          case 'mode':
            return `mode ${octal(change.before.mode)}→${octal(change.after.mode)}`;
          case 'sha256':
            return `sha256 ${short(change.before.sha256 ?? change.before.unreadable)}→${short(change.after.sha256 ?? change.after.unreadable)}`;
          case 'mtime':
            return `mtime ${isoOf(change.before.mtime)}→${isoOf(change.after.mtime)}`;
          case 'xattrs':
            return `xattrs ${Object.keys(change.before.xattrs ?? {}).join(',') || '-'}→${Object.keys(change.after.xattrs ?? {}).join(',') || '-'}`;
          default:
            return `${attribute} ${String(before ?? '-')}→${String(after ?? '-')}`;
        }
      });
      return `changed  ${absolute(base, change.after)}: ${details.join(', ')}`;
    }
  }
}

async function realOrResolved(dir: string): Promise<string> {
  try {
    return await realpath(resolve(dir));
  } catch {
    return resolve(dir); // the command itself reports a missing directory
  }
}

function absolute(treeRoot: string, entry: FimEntry): string {
  if (entry.path === '/') return treeRoot;
  return treeRoot === '/' ? entry.path : `${treeRoot}${entry.path}`;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function short(value: string | undefined): string {
  if (value === undefined) return '-';
  return /^[0-9a-f]{64}$/.test(value) ? `${value.slice(0, 12)}…` : `(${value})`;
}

function isoOf(nanoseconds: string): string {
  return new Date(Number(BigInt(nanoseconds) / 1_000_000n)).toISOString();
}

function workersOption(workers: string | undefined): { workers?: number } {
  if (workers === undefined) return {};
  const count = Number(workers);
  if (!Number.isInteger(count) || count < 1) {
    throw new FimError('DIR_INVALID', `--workers ${workers}: expected a whole number of threads, 1 or more`);
  }
  return { workers: count };
}

/** Runs a fim command so that no error can exit 0–7, which `check` uses for its findings. */
async function withAideExitCodes(command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (error instanceof HerdError) {
      console.error(`herd: ${error.message}`);
      return error instanceof FimError ? exitCodeOf(error.code) : aideExit.configuration;
    }
    console.error(`herd: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return aideExit.io;
  }
}

function exitCodeOf(code: FimErrorCode): number {
  switch (code) {
    case 'DIR_INVALID':
    case 'BASELINE_ROOT_MISMATCH':
      return aideExit.argument;
    case 'BASELINE_WRITE_FAILED':
      return aideExit.write;
    case 'NO_TRUSTED_KEYS':
    case 'XATTRS_UNAVAILABLE':
      return aideExit.configuration;
    case 'BASELINE_UNREADABLE':
    case 'BASELINE_TRUNCATED':
    case 'BASELINE_MALFORMED':
    case 'BASELINE_SIGNATURE_INVALID':
      return aideExit.io;
  }
}
