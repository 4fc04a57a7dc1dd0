/**
 * One control plane per HERD_HOME. `herd serve` and `herd up` take HERD_HOME/control-plane.lock
 * before they write anything else and hold it until they stop: two control planes on one home
 * would run two controllers and two log collectors over the same instances and herd.db. The lock
 * names its holder (pid, start time, host, command, and the URL once the server listens), so a
 * second starter can say which control plane runs, and a lock left by a process that is gone
 * (kill -9, a crash, a reboot) is taken over (see exclusive-claim.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { countAt, objectAt, optionalStringAt, ShapeError, stringAt, writeAtomic } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import { HomeError } from './errors.js';
import { claimPath, readClaim } from './exclusive-claim.js';
import { checkHomeOwner } from './home-owner.js';
import { currentProcess, isRunning, type ProcessIdentity } from './process-identity.js';

/** What control-plane.lock holds. */
export interface HomeLockHolder extends ProcessIdentity {
  pid: number;
  /** /proc's start time of the process, digits. */
  startTime?: string;
  host: string;
  /** 32 hex digits, this claim's own. */
  nonce: string;
  command: string;
  since: string;
  url?: string;
}

/**
 * The lock's fields, checked by hand (src/common/json-shape.ts) rather than with zod: every
 * command reads the lock when it is there, and zod costs a command its load and first compile.
 */
function holderOf(json: unknown): HomeLockHolder {
  const holder = objectAt(json, '');
  const pid = countAt(holder.pid, 'pid');
  if (pid === 0) throw new ShapeError('pid', 'Too small: expected number to be >0');
  const matching = (value: unknown, path: string, pattern: RegExp): string => {
    const text = stringAt(value, path);
    if (!pattern.test(text)) throw new ShapeError(path, `Invalid string: must match pattern ${pattern}`);
    return text;
  };
  const startTime =
    holder.startTime === undefined ? undefined : matching(holder.startTime, 'startTime', /^\d+$/);
  const url = optionalStringAt(holder.url, 'url');
  return {
    pid,
    ...(startTime === undefined ? {} : { startTime }),
    host: stringAt(holder.host, 'host'),
    nonce: matching(holder.nonce, 'nonce', /^[0-9a-f]{32}$/),
    command: stringAt(holder.command, 'command'),
    since: stringAt(holder.since, 'since'),
    ...(url === undefined ? {} : { url }),
  };
}

export interface HomeLock {
  readonly path: string;
  readonly holder: HomeLockHolder;
  /** Records where the control plane answers, for the message a second starter prints. */
  advertise(url: string): Promise<void>;
  /** Removes the lock if it is still this process's; safe to call more than once. */
  release(): Promise<void>;
}

export function homeLockPath(home: Pick<HerdHome, 'root'>): string {
  return join(home.root, 'control-plane.lock');
}

/**
 * Takes HERD_HOME's lock for `command` (e.g. `herd serve`), creating HERD_HOME (0700) if needed.
 * Throws HOME_IN_USE naming the running control plane when a live process holds it.
 */
export async function lockHome(
  home: Pick<HerdHome, 'root'>,
  options: { command: string; timeoutMs?: number },
): Promise<HomeLock> {
  const path = homeLockPath(home);
  await mkdir(home.root, { recursive: true, mode: 0o700 });
  await checkHomeOwner(home.root);
  let holder: HomeLockHolder = {
    ...currentProcess(),
    nonce: randomBytes(16).toString('hex'),
    command: options.command,
    since: new Date().toISOString(),
  };
  const outcome = await claimPath<HomeLockHolder>(path, holder, {
    parse: parseHolder,
    isRunning,
    deadline: Date.now() + (options.timeoutMs ?? 5_000),
  });
  if (outcome.kind === 'held') throw inUse(home, outcome.holder);
  await removeTakeoverLitter(path);
  const ours = async () =>
    (await readClaim(path, parseHolder).catch(() => undefined))?.nonce === holder.nonce;
  return {
    path,
    get holder() {
      return holder;
    },
    async advertise(url) {
      if (!(await ours())) {
        throw new HomeError(
          'HOME_LOCK_LOST',
          `${path} no longer holds this process's lock (pid ${process.pid}): expected it to stay until herd stops`,
        );
      }
      holder = { ...holder, url };
      // Only the holder rewrites its lock; rename keeps every reader's view whole.
      await writeAtomic(path, `${JSON.stringify(holder, null, 2)}\n`, { mode: 0o600 });
    },
    async release() {
      if (await ours()) await rm(path, { force: true });
    },
  };
}

/** The lock's holder as written, or undefined when no control plane holds HERD_HOME. */
export async function readHomeLock(home: Pick<HerdHome, 'root'>): Promise<HomeLockHolder | undefined> {
  return readClaim(homeLockPath(home), parseHolder);
}

function parseHolder(text: string, path: string): HomeLockHolder {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HomeError(
      'HOME_LOCK_INVALID',
      `${path} is not JSON (${JSON.stringify(text.slice(0, 40))}): expected herd's lock; ` +
        'remove it if no herd serve or herd up runs on this HERD_HOME',
    );
  }
  try {
    return holderOf(json);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new HomeError(
      'HOME_LOCK_INVALID',
      `${path}: field ${error.path || '(root)'} ${error.issue}: expected herd's lock; ` +
        'remove it if no herd serve or herd up runs on this HERD_HOME',
    );
  }
}

function inUse(home: Pick<HerdHome, 'root'>, holder: HomeLockHolder): HomeError {
  const where = holder.url ?? 'still starting';
  const host = holder.host === currentProcess().host ? '' : ` on host ${holder.host}`;
  return new HomeError(
    'HOME_IN_USE',
    `HERD_HOME ${home.root} is in use by ${holder.command} (pid ${holder.pid}${host}, ${where}, since ${holder.since}): ` +
      'one control plane per HERD_HOME; stop that one first, or set another HERD_HOME',
  );
}

/**
 * Takeover claims and temp files that a process killed mid-takeover left beside the lock. Safe to
 * remove once the lock is ours: a taker that still runs re-reads the lock, finds our nonce and
 * leaves it alone.
 */
async function removeTakeoverLitter(path: string): Promise<void> {
  // Claims only, never a `.tmp` file: a starter that still runs may be about to link its own.
  const litter = new RegExp(`^${basename(path).replaceAll('.', '\\.')}(\\.takeover-[0-9a-f]{32})+$`);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    if (litter.test(name)) await rm(join(dirname(path), name), { force: true });
  }
}
