/**
 * HERD_HOME is private: the home and each directory herd makes in it are 0700, each file 0600
 * (herd.db and its WAL, the logs, the store with its drift evidence, the caches, the keys). herd's
 * writers create them so; `tightenHome` fixes a home written before that, or loosened by hand, by
 * taking the group and other bits off whatever herd wrote there.
 *
 * Left alone: entries at the top of HERD_HOME that herd does not write (HERD_HOME may be a folder
 * the user also keeps other things in), symbolic links (never followed), and podman's own storage
 * under engine/ (storage, run, tmp), whose modes podman sets and the engine relies on; HERD_HOME
 * being 0700 already keeps other users out of it.
 */
import { constants, type Stats } from 'node:fs';
import { chmod, lstat, open, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { HerdHome } from '../herd-home.js';

export interface TightenReport {
  /** Files, directories and sockets whose mode was changed. */
  tightened: number;
  /** Entries at the top of HERD_HOME that herd did not write and left open as they are. */
  leftAlone: string[];
  failed: { path: string; reason: string }[];
}

/** Top-level entries herd writes that HerdHome does not name; `herdEntries` adds the ones it does. */
const unnamedEntries = [
  'engine',
  'vulndb',
  'fim',
  'journal.checkpoint',
  'control-plane.json',
  'control-plane.lock',
  'control-plane.sock',
];
/** Under engine/: podman's storage, run root and tmp dir. */
const engineManaged = new Set(['storage', 'run', 'tmp']);

/** The names at the top of HERD_HOME that herd writes. */
export function herdEntries(home: HerdHome): Set<string> {
  const named = Object.entries(home)
    .filter(([key]) => key !== 'root')
    .map(([, path]) => relative(home.root, path).split(sep)[0] ?? '');
  return new Set([...named, ...unnamedEntries].filter((name) => name !== '' && name !== '..'));
}

/** One of `entries`, or a file beside one: herd.db-wal, a temp file, the lock's takeover claims. */
export function isHerdEntry(name: string, entries: ReadonlySet<string>): boolean {
  if (entries.has(name)) return true;
  for (const entry of entries) if (name.startsWith(`${entry}.`) || name.startsWith(`${entry}-`)) return true;
  return false;
}

/** The mode without group and other bits, or undefined when it has none. */
export function privateModeFor(mode: number): number | undefined {
  const permissions = mode & 0o7777;
  return permissions & 0o077 ? permissions & ~0o077 : undefined;
}

/** Whether HERD_HOME itself lets anyone but its owner in: the cheap check before a full walk. */
export async function isHomeLoose(root: string): Promise<boolean> {
  const info = await lstat(root).catch(() => undefined);
  return info?.isDirectory() === true && privateModeFor(info.mode) !== undefined;
}

export async function tightenHome(home: HerdHome): Promise<TightenReport> {
  const { root } = home;
  const entries = herdEntries(home);
  const report: TightenReport = { tightened: 0, leftAlone: [], failed: [] };
  const info = await lstat(root).catch(() => undefined);
  if (!info?.isDirectory()) return report;
  if (info.mode & 0o1000) {
    // A sticky, shared directory (/tmp and the like) is not herd's to close.
    report.failed.push({
      path: root,
      reason: `a shared directory (mode ${(info.mode & 0o7777).toString(8)}), left as is: give HERD_HOME a directory of its own`,
    });
  } else {
    await tighten(root, info, report);
  }
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!isHerdEntry(entry.name, entries)) {
      const mode = (await lstat(join(root, entry.name)).catch(() => undefined))?.mode ?? 0;
      if (!entry.isSymbolicLink() && privateModeFor(mode) !== undefined) report.leftAlone.push(entry.name);
      continue;
    }
    await walk(join(root, entry.name), report, entry.name === 'engine' ? engineManaged : undefined);
  }
  return report;
}

async function walk(path: string, report: TightenReport, skip?: ReadonlySet<string>): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info || info.isSymbolicLink()) return;
  await tighten(path, info, report);
  if (!info.isDirectory()) return;
  const names = await readdir(path).catch((error: NodeJS.ErrnoException) => {
    report.failed.push({ path, reason: error.code ?? String(error) });
    return [] as string[];
  });
  for (const name of names) {
    if (!skip?.has(name)) await walk(join(path, name), report);
  }
}

async function tighten(path: string, info: Stats, report: TightenReport): Promise<void> {
  const mode = privateModeFor(info.mode);
  if (mode === undefined) return;
  try {
    if (info.isFile() || info.isDirectory()) {
      // Through a descriptor opened without following links, checked to be the entry we looked
      // at, so a link swapped in meanwhile never gets its target's mode changed.
      const flags =
        constants.O_RDONLY |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK |
        (info.isDirectory() ? constants.O_DIRECTORY : 0);
      const handle = await open(path, flags);
      try {
        const now = await handle.stat();
        if (now.ino !== info.ino || now.dev !== info.dev) return;
        await handle.chmod(mode);
      } finally {
        await handle.close();
      }
    } else if (info.isSocket() || info.isFIFO()) {
      await chmod(path, mode);
    } else {
      return;
    }
    report.tightened += 1;
  } catch (error) {
    report.failed.push({ path, reason: (error as NodeJS.ErrnoException).code ?? String(error) });
  }
}
