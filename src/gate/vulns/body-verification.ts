/**
 * The vulnerability cache's body is ~22 MB: reading and hashing it on every gate costs 30–100 ms,
 * most of a 300 ms gate. So its sha256 is checked once, and then the file is recognised by its
 * identity, as git's index recognises an unchanged file by its stat data: a record in
 * HERD_HOME/vulndb/vulndb.verified says "the file with this (dev, inode, size, mtime, ctime) had a
 * body hashing to what its header says", with where each source package's line is, so a gate
 * reads only the header and the lines of its image's sources.
 *
 * Why that is as safe as hashing every time:
 * - Any change to the file through the filesystem changes its ctime to the current time, and no
 *   user can set a ctime back (utimes sets atime and mtime only; ctime follows the clock, which only
 *   root can move). A file rewritten with its mtime restored still has a new ctime; a file replaced
 *   by rename, as `herd vulndb update` does, has a new inode.
 * - Racy writes: a ctime has the filesystem's granularity (a clock tick, a second on some), so a
 *   change in the same tick as the write before it would keep the ctime. A record is only made for
 *   a file whose ctime is at least `racyWindowMs` old: any later change has a later ctime.
 * - The record is sealed (cache-seal.ts: an HMAC under HERD_HOME/keys/cache-seal.key) and 0600 in
 *   HERD_HOME, which is private: a record that does not verify, or names another identity, is
 *   ignored and the body hashed again. Whoever can write HERD_HOME/vulndb can rewrite the cache
 *   with a matching header anyway: the header's sha256 catches damage, not an author, and damage
 *   through the filesystem changes the ctime.
 * - The lines are read through the descriptor whose identity was checked, so a rename over the
 *   file while a gate runs is not seen; a write into it is (its size or mtime changes), and fails
 *   the read rather than mixing two files.
 */
import { type BigIntStats, closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../../common/index.js';
import type { HerdHome } from '../../herd-home.js';
import { CacheSeal } from '../../oci/index.js';
import { VulnDbError } from './errors.js';
import {
  lazyVulnDb,
  parseVulnDbHeader,
  type VulnDb,
  type VulnDbLineLookup,
  type VulnDbLines,
  verifyVulnDbFile,
} from './vulndb-file.js';

/** Bumped when the record's shape changes: an older record is ignored, never misread. */
const recordVersion = 3;
const sealPurpose = 'vulndb-verified';
/** Two seconds: more than the coarsest timestamp granularity of a Linux filesystem (FAT's). */
export const racyWindowMs = 2000;

/** What stat says about a file that any change to it changes. */
export function fileIdentity(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

/** Whether a file with this stat may be recorded: its last change is older than a timestamp's granularity. */
export function mayRecord(stat: BigIntStats, nowMs: number): boolean {
  return nowMs - Number(stat.ctimeNs / 1_000_000n) >= racyWindowMs;
}

interface VerificationRecord {
  version: number;
  path: string;
  identity: string;
  bodySha256: string;
  headerEnd: number;
  /**
   * Each line of the body as `<source>\t<start>\t<end>`, in file order, each line between newlines
   * (the text starts and ends with one). A gate looks up its image's hundred sources by searching
   * this text for `\n<source>\t`: a name holds no tab or newline (indexVulnDbLines ends it at the
   * first tab), so no other line can match. Decoding every line into a map instead cost a warm gate
   * more than its whole vulnerability matching (10,000 sources: 12 ms against 5).
   */
  lines: string;
}

/** Lines as indexVulnDbLines found them, as the record's text. */
function encodeLines(lines: VulnDbLines): string {
  let text = '\n';
  for (const [source, { start, end }] of lines) text += `${source}\t${start}\t${end}\n`;
  return text;
}

/**
 * The record's lines as a lookup. The record is sealed, so its numbers are herd's own; they are
 * still checked against the file's size, so that a bug reads nothing outside the body.
 */
function recordedLines(
  record: VerificationRecord,
  file: { size: number; recordPath: string },
): VulnDbLineLookup | undefined {
  const text = record.lines;
  if (typeof text !== 'string' || !text.startsWith('\n') || !text.endsWith('\n')) return undefined;
  return {
    get(source) {
      const key = `\n${source}\t`;
      const at = text.indexOf(key);
      if (at < 0) return undefined;
      const numbers = text.slice(at + key.length, text.indexOf('\n', at + key.length)).split('\t');
      const [start = Number.NaN, end = Number.NaN] = numbers.length === 2 ? numbers.map(Number) : [];
      const inBody =
        Number.isSafeInteger(start) &&
        Number.isSafeInteger(end) &&
        start >= record.headerEnd &&
        start <= end &&
        end <= file.size;
      if (!inBody) {
        throw new VulnDbError(
          'VULNDB_CACHE_INVALID',
          `${file.recordPath} gives ${source} the bytes "${numbers.join(' ')}", not within the body of ${record.path} (${file.size} bytes): delete ${file.recordPath} and run the gate again`,
        );
      }
      return { start, end };
    },
  };
}

export function verificationRecordPath(home: HerdHome): string {
  return join(home.root, 'vulndb', 'vulndb.verified');
}

export interface VerifiedVulnDb {
  db: VulnDb;
  /** `record`: the file was the one recorded, its body not read; `hash`: its body was hashed. */
  verifiedBy: 'record' | 'hash';
}

/** Closes a recorded file's descriptor once its VulnDb can no longer be used. */
const closeWhenCollected = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed at exit: nothing to release.
  }
});

/**
 * Opens the cache at `path`: through its record when the file is the one recorded, else by
 * hashing its body (and recording it, when it is old enough). Throws VULNDB_MISSING when there is
 * no file, VULNDB_CACHE_INVALID when it is not one herd wrote or its body does not match its header.
 */
export async function openVerifiedVulnDb(
  home: HerdHome,
  path: string,
  options: { nowMs: number },
): Promise<VerifiedVulnDb> {
  const seal = await CacheSeal.open(home.cacheSealKey);
  const recorded = openRecorded(home, path, seal);
  if (recorded) return { db: recorded, verifiedBy: 'record' };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new VulnDbError(
      'VULNDB_MISSING',
      `no vulnerability database at ${path}: run herd vulndb update --from <url|file> (or set HERD_VULNDB_URL)`,
    );
  }
  try {
    const before = await handle.stat({ bigint: true });
    const bytes = await handle.readFile();
    // Checks the body against the header's sha256, or throws.
    const { header, lines } = verifyVulnDbFile(bytes, { path });
    const db = lazyVulnDb(header.meta, lines, ({ start, end }) => bytes.toString('utf8', start, end));
    const after = await handle.stat({ bigint: true });
    const identity = fileIdentity(before);
    if (mayRecord(before, options.nowMs) && fileIdentity(after) === identity) {
      await writeRecord(home, seal, {
        version: recordVersion,
        path,
        identity,
        bodySha256: header.bodySha256,
        headerEnd: header.headerEnd,
        lines: encodeLines(lines),
      });
    }
    return { db, verifiedBy: 'hash' };
  } finally {
    await handle.close();
  }
}

/** The cache through its record, or undefined when there is none that is sealed and names this file as it is. */
function openRecorded(home: HerdHome, path: string, seal: CacheSeal): VulnDb | undefined {
  const record = readRecord(home, seal);
  if (!record || record.path !== path) return undefined;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    // Missing or unreadable: the hashing path says why.
    return undefined;
  }
  let kept = false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (fileIdentity(stat) !== record.identity) return undefined;
    const header = parseVulnDbHeader(readRange(fd, 0, record.headerEnd + 1), { path });
    if (header.bodySha256 !== record.bodySha256 || header.headerEnd !== record.headerEnd) return undefined;
    const lines = recordedLines(record, {
      size: Number(stat.size),
      recordPath: verificationRecordPath(home),
    });
    if (!lines) return undefined;
    const db = lazyVulnDb(header.meta, lines, ({ start, end }) => {
      const now = fstatSync(fd, { bigint: true });
      if (now.size !== stat.size || now.mtimeNs !== stat.mtimeNs) {
        throw new VulnDbError(
          'VULNDB_CACHE_INVALID',
          `${path} was written to while it was being read (size ${stat.size} → ${now.size}, mtime ${stat.mtimeNs} → ${now.mtimeNs} ns); run the gate again`,
        );
      }
      return readRange(fd, start, end).toString('utf8');
    });
    closeWhenCollected.register(db, fd);
    kept = true;
    return db;
  } finally {
    if (!kept) closeSync(fd);
  }
}

function readRange(fd: number, start: number, end: number): Buffer {
  const buffer = Buffer.allocUnsafe(end - start);
  let done = 0;
  while (done < buffer.length) {
    const read = readSync(fd, buffer, done, buffer.length - done, start + done);
    if (read === 0) break;
    done += read;
  }
  return done === buffer.length ? buffer : buffer.subarray(0, done);
}

function readRecord(home: HerdHome, seal: CacheSeal): VerificationRecord | undefined {
  let text: string;
  try {
    text = readFileSync(verificationRecordPath(home), 'utf8');
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  if (newline < 0) return undefined;
  const body = text.slice(newline + 1);
  if (!seal.verify(sealPurpose, body, text.slice(0, newline))) return undefined;
  try {
    const record = JSON.parse(body) as VerificationRecord;
    return record.version === recordVersion ? record : undefined;
  } catch {
    return undefined;
  }
}

async function writeRecord(home: HerdHome, seal: CacheSeal, record: VerificationRecord): Promise<void> {
  const body = JSON.stringify(record);
  try {
    await writeAtomic(verificationRecordPath(home), `${seal.seal(sealPurpose, body)}\n${body}`, {
      mode: 0o600,
    });
  } catch {
    // Only a shortcut for the next gate: this one hashed the body, and the next one will again.
  }
}
