/**
 * herd.lock: the exact inputs of a build. The same lock always gives the same image, bit for bit.
 * It pins every package by version and sha256 and every app file by digest, and records which
 * signed Release each suite was resolved from. Mirrors are not pinned: content is, so the lock
 * stays valid on any mirror that serves the same bytes. A base image (`image.from`) is pinned by
 * digest; its packages are its own and are not repeated in `packages`.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeAtomic } from '../common/index.js';
import {
  architectureProblem,
  compareDebianVersions,
  packageNameProblem,
  poolPathProblem,
  versionProblem,
} from '../debian/index.js';
import { BuildError } from './errors.js';

export const lockVersion = 1;

export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  source: string;
  sourceVersion: string;
  suite: string;
  filename: string;
  size: number;
  sha256: string;
  /** Why the package is in the image: `requested`, `implicit`, or the package whose dependency pulled it in. */
  reason: string;
}

export interface LockedSuite {
  suite: string;
  codename?: string;
  /**
   * The Release file's Date. The next `herd lock` refuses a Release older than this (a rollback)
   * unless told `--allow-downgrade`. Absent in locks written before herd remembered dates.
   */
  date?: string;
  /** sha256 of the InRelease that was verified. */
  inRelease: string;
  /** Fingerprint of the key that signed it. */
  signer: string;
}

/** `image.from`, resolved once at lock time: builds read this digest and never look it up again. */
export interface LockedBase {
  /** The reference as the spec gives it, stage spelled out: `base@production`, or the digest. */
  ref: string;
  /** The base's manifest digest. */
  digest: string;
  /** How many packages the base has installed; they stay exactly as the base built them. */
  packages: number;
  /** Base packages the suites now have newer versions of: kept at the base's version, not upgraded. */
  held: HeldBasePackage[];
}

export interface HeldBasePackage {
  name: string;
  /** The version installed in the base. */
  version: string;
  /** The newer version the suites offer, and the suite that offers it. */
  available: string;
  suite: string;
}

export interface LockedFile {
  src: string;
  sha256: string;
}

export interface Lock {
  lockVersion: typeof lockVersion;
  service: string;
  /** sha256 of herd.yaml's bytes when the lock was written. */
  specDigest: string;
  /** The lock's date: the newest Release date. Layers use it as their mtime unless SOURCE_DATE_EPOCH is set. */
  date: string;
  /** The main suite, by codename (the spec's `image.suite`). */
  suite: string;
  architecture: string;
  base?: LockedBase;
  suites: LockedSuite[];
  files: LockedFile[];
  /** What this image adds; a base's packages are not repeated here. */
  packages: LockedPackage[];
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * A lock is edited by hand and in review, so its names are held to the same syntax as an index's
 * (archive-names.ts): a lock naming a package `../../x` is refused before anything uses it.
 */
function archiveName(problemOf: (value: string) => string | undefined) {
  return z.string().superRefine((value, context) => {
    const problem = problemOf(value);
    if (problem) context.addIssue({ code: 'custom', message: `"${value}": ${problem}` });
  });
}

const packageName = archiveName(packageNameProblem);
const debianVersion = archiveName(versionProblem);

/** The lock is read back from disk, so it is validated like any other input. */
const LockSchema = z.strictObject({
  lockVersion: z.literal(lockVersion),
  service: z.string(),
  specDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  date: z.iso.datetime(),
  suite: z.string(),
  architecture: archiveName(architectureProblem),
  base: z
    .strictObject({
      ref: z.string(),
      digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
      packages: z.number().int().nonnegative(),
      held: z.array(
        z.strictObject({
          name: packageName,
          version: debianVersion,
          available: debianVersion,
          suite: z.string(),
        }),
      ),
    })
    .optional(),
  suites: z.array(
    z.strictObject({
      suite: z.string(),
      codename: z.string().optional(),
      // Optional: locks written before herd remembered Release dates have none; the next lock adds it.
      date: z.iso.datetime().optional(),
      inRelease: sha256Hex,
      signer: z.string(),
    }),
  ),
  files: z.array(z.strictObject({ src: z.string(), sha256: sha256Hex })),
  packages: z.array(
    z.strictObject({
      name: packageName,
      version: debianVersion,
      architecture: archiveName(architectureProblem),
      source: packageName,
      sourceVersion: debianVersion,
      suite: z.string(),
      filename: archiveName(poolPathProblem),
      size: z.number().int().nonnegative(),
      sha256: sha256Hex,
      reason: z.string(),
    }),
  ),
});

export async function readLock(path: string): Promise<Lock | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new BuildError('LOCK_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = LockSchema.safeParse(fromPreviousHerd(data));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BuildError(
      'LOCK_INVALID',
      `${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}; run herd lock to rewrite it`,
    );
  }
  return parsed.data as Lock;
}

/**
 * A lock a previous herd wrote calls its main suite `release` (same lockVersion: nothing else
 * changed). It is read as `suite`, so a committed lock still builds the image it pinned; the next
 * `herd lock` writes `suite`. A lock with both keeps them, and the schema refuses the extra key.
 */
function fromPreviousHerd(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  if (!('release' in data) || 'suite' in data) return data;
  // Renamed in place: the lock's bytes, as formatLock writes them, keep their order.
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key === 'release' ? 'suite' : key, value]),
  );
}

/** Pretty-printed with a fixed key order, so the lock diffs well in review. */
export function formatLock(lock: Lock): string {
  return `${JSON.stringify(lock, null, 2)}\n`;
}

export async function writeLock(path: string, lock: Lock): Promise<void> {
  await writeAtomic(path, formatLock(lock), { mode: 0o644 });
}

export type LockChange =
  | { kind: 'base'; ref: string; from?: string; to?: string }
  | { kind: 'added'; name: string; version: string }
  | { kind: 'removed'; name: string; version: string }
  | { kind: 'changed'; name: string; from: string; to: string; suite: string }
  /** The archive now offers an older version than the lock pins: never worded as an update. */
  | { kind: 'downgraded'; name: string; from: string; to: string; suite: string };

/** What differs between the lock on disk and a fresh resolution: the base first, then packages by name. */
export function diffLocks(before: Lock, after: Lock): LockChange[] {
  const old = new Map(before.packages.map((p) => [p.name, p]));
  const fresh = new Map(after.packages.map((p) => [p.name, p]));
  const names = [...new Set([...old.keys(), ...fresh.keys()])].sort();
  const changes: LockChange[] = [];
  if (before.base?.digest !== after.base?.digest) {
    changes.push({
      kind: 'base',
      ref: after.base?.ref ?? before.base?.ref ?? '',
      ...(before.base ? { from: before.base.digest } : {}),
      ...(after.base ? { to: after.base.digest } : {}),
    });
  }
  for (const name of names) {
    const a = old.get(name);
    const b = fresh.get(name);
    if (a && !b) changes.push({ kind: 'removed', name, version: a.version });
    else if (!a && b) changes.push({ kind: 'added', name, version: b.version });
    else if (a && b && (a.version !== b.version || a.sha256 !== b.sha256)) {
      const kind = compareDebianVersions(b.version, a.version) < 0 ? 'downgraded' : 'changed';
      changes.push({ kind, name, from: a.version, to: b.version, suite: b.suite });
    }
  }
  return changes;
}

export function describeLockChange(change: LockChange): string {
  switch (change.kind) {
    case 'base':
      return `~ base ${change.ref} ${change.from ?? '(none)'} -> ${change.to ?? '(none)'}`;
    case 'added':
      return `+ ${change.name} ${change.version}`;
    case 'removed':
      return `- ${change.name} ${change.version}`;
    case 'changed':
      return `~ ${change.name} ${change.from} -> ${change.to} (${change.suite})`;
    case 'downgraded':
      return `< ${change.name} ${change.from} -> ${change.to} (${change.suite}): older than the lock`;
  }
}
