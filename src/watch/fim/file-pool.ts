/**
 * The per-entry system calls of a walk on every core: a small pool of worker threads that lstat
 * the entries the walk names, read their symlink targets and xattrs, and sha256 the regular files
 * (1 MiB reads). The walk itself only lists directories (walk.ts), so the main thread is left with
 * the baseline and the comparison, and a fast check, which hashes almost nothing, still uses every
 * core. Work travels in batches, results as flat arrays, so that messages do not dominate for the
 * many small entries of a system tree.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FimError } from './errors.js';
import {
  displayName,
  entryHead,
  entryTail,
  type FimEntry,
  type FimEntryType,
  lineOfParts,
  parseEntryLine,
} from './fim-entry.js';
import type { NamedEntry } from './walk.js';
import { readXattrs, type XattrSource } from './xattrs.js';

export type HashResult = { sha256: string } | { error: string };

/**
 * An entry as the workers describe it: the pieces of its baseline line (fim-entry.ts's `entryLine`),
 * not an object. A check compares most entries with their recorded line as these strings and never
 * builds one (fim.ts); `entryOf` parses the line when one is needed.
 */
export interface DescribedEntry {
  path: string;
  /** The path to read it at: bytes for a name that is not UTF-8. */
  fsPath: string | Buffer;
  type: FimEntryType;
  /** Its line's keys from type to inode: `entryHead`. */
  head: string;
  /** Target, xattrs and the closing brace: `entryTail`. */
  tail: string;
  /** Read when the pool was asked to hash (regular files only). */
  sha256?: string;
  /** Why a regular file could not be hashed (an errno code). */
  unreadable?: string;
}

/** Complete entries, in walk order, without the ones that vanished since the walk. */
export interface DescribedBatch {
  entries: DescribedEntry[];
}

/** The entry's whole baseline line, without its newline. */
export function lineOf(entry: DescribedEntry): string {
  return lineOfParts(entry.path, entry.head, entry, entry.tail);
}

/** The entry as an object, parsed from its own line. */
export function entryOf(entry: DescribedEntry): FimEntry {
  const parsed = parseEntryLine(lineOf(entry));
  // The line was built from an lstat by entryLine's own parts: failing to parse it is herd's bug.
  if (!parsed) throw new Error(`herd built a malformed entry line for ${entry.path}: ${lineOf(entry)}`);
  return parsed;
}

/** An entry's lstat as the baseline records it, told apart from its type. */
function typeOf(stats: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): FimEntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  return 'unknown';
}

/** Slots per entry in a `describe` result: type, head, tail, sha256, unreadable, why the xattrs could not be read. */
const stride = 6;

/**
 * The worker is plain JavaScript evaluated from this string, so that it runs the same under tsx,
 * the compiled `herd` and any bundler, with no loader to inherit. The pure helpers it shares with
 * the rest of herd (`displayName`, `typeOf`, `readXattrs`, `entryHead`, `entryTail`) are spliced
 * in from their compiled source: each refers to nothing outside its own body. `__name` is the helper a compiler that
 * keeps function names (tsx does) calls inside such bodies.
 *
 * Files are opened with O_NOFOLLOW and O_NONBLOCK and their type checked again: a file swapped for
 * a symlink or a FIFO after the lstat is reported, never followed or blocked on.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const __name = (fn) => fn;
const displayName = (${displayName.toString()});
const typeOf = (${typeOf.toString()});
const readXattrs = (${readXattrs.toString()});
const entryHead = (${entryHead.toString()});
const entryTail = (${entryTail.toString()});
const binding = workerData.xattrs ? require(workerData.xattrs) : undefined;
const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
const buffer = Buffer.allocUnsafe(1 << 20);
const stride = ${stride};
function pathOf(path) {
  return typeof path === 'string' ? path : Buffer.from(path);
}
function hashOne(path, out, at) {
  let fd;
  try {
    fd = fs.openSync(path, flags);
    if (!fs.fstatSync(fd).isFile()) {
      out[at + 1] = 'ENOTREG';
      return;
    }
    const hash = createHash('sha256');
    let n;
    while ((n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, n));
    out[at] = hash.digest('hex');
  } catch (error) {
    out[at + 1] = (error && error.code) || String(error);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
function describe(paths, hash) {
  const out = new Array(paths.length * stride);
  for (let i = 0; i < paths.length; i++) {
    const path = pathOf(paths[i]);
    const at = i * stride;
    let stats;
    try {
      stats = fs.lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      const code = error && error.code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES' && code !== 'EPERM') throw error;
    }
    // Gone between the walk's readdir and this lstat: no entry at all.
    if (!stats) continue;
    const type = typeOf(stats);
    out[at] = type;
    out[at + 1] = entryHead({
      type,
      mode: Number(stats.mode & 0o7777n),
      uid: Number(stats.uid),
      gid: Number(stats.gid),
      size: Number(stats.size),
      mtime: stats.mtimeNs.toString(),
      ctime: stats.ctimeNs.toString(),
      ino: stats.ino.toString(),
    });
    let target;
    if (type === 'symlink') {
      try {
        target = displayName(fs.readlinkSync(path, { encoding: 'buffer' }));
      } catch {
        target = '';
      }
    }
    let xattrs;
    // The binding takes paths as strings: a path that is not UTF-8 is recorded without xattrs.
    if (binding && typeof path === 'string') {
      const read = readXattrs(binding, path);
      if (typeof read === 'string') out[at + 5] = read;
      else xattrs = read;
    }
    out[at + 2] = entryTail({ target, xattrs });
    if (hash && type === 'file') hashOne(path, out, at + 3);
  }
  return out;
}
parentPort.on('message', (job) => {
  const paths = typeof job.paths === 'string' ? job.paths.split('\\0') : job.paths;
  let results;
  if (job.kind === 'describe') results = describe(paths, job.hash);
  else {
    results = new Array(paths.length * 2);
    for (let i = 0; i < paths.length; i++) hashOne(pathOf(paths[i]), results, i * 2);
  }
  parentPort.postMessage({ id: job.id, results });
});
`;

/**
 * The paths of a job as one string, NUL between them, when none is bytes: a message of one string
 * is one copy, where an array of 256 costs the main thread one serialized string each (about as
 * much as the rest of its work on an entry). No path holds a NUL.
 */
function packed(paths: (string | Buffer)[]): (string | Buffer)[] | string {
  return paths.every((path) => typeof path === 'string') ? paths.join('\0') : paths;
}

interface Job {
  message: { kind: 'describe' | 'hash'; paths: (string | Buffer)[] | string; hash?: boolean };
  resolve: (results: unknown[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Job>;
}

interface HashJob {
  path: string | Buffer;
  size: number;
  resolve: (result: HashResult) => void;
}

/** A batch of single hashes closes at this many files or bytes, whichever comes first. */
const hashBatchFiles = 128;
const hashBatchBytes = 32 * 1024 * 1024;
/** Jobs queued per worker, so that a worker never waits for the main thread between two. */
const jobsPerWorker = 2;

export class WorkerFilePool {
  readonly #slots: Slot[];
  /** Pending jobs from #head on; compacted now and then instead of shifting one by one. */
  #queue: Job[] = [];
  #head = 0;
  #nextJob = 0;
  #hashes: HashJob[] = [];
  #hashBytes = 0;
  #scheduled = false;
  /** Why the last worker died, for the jobs that come after. */
  #died: Error | undefined;

  /** `xattrs`: where the workers load the binding from; without it they read none. */
  constructor(options: { workers?: number; xattrs?: XattrSource } = {}) {
    const count = Math.max(1, options.workers ?? availableParallelism());
    const xattrs = options.xattrs?.support === 'llistxattr' ? options.xattrs.module : undefined;
    this.#slots = Array.from({ length: count }, () => this.#start(xattrs));
  }

  /**
   * lstat, symlink target and xattrs of each named entry, and with `hash` the sha256 of each regular
   * file: complete entries, in the order given, without the ones that vanished since the walk.
   */
  async describe(named: readonly NamedEntry[], options: { hash: boolean }): Promise<DescribedBatch> {
    const results = await this.#submit({
      kind: 'describe',
      paths: packed(named.map((n) => n.fsPath)),
      hash: options.hash,
    });
    const entries: DescribedEntry[] = [];
    for (let i = 0; i < named.length; i++) {
      const at = i * stride;
      const type = results[at] as FimEntryType | undefined;
      if (type === undefined) continue;
      const { path, fsPath } = named[i]!;
      const xattrsError = results[at + 5] as string | undefined;
      if (xattrsError !== undefined) {
        throw new FimError(
          'XATTRS_UNAVAILABLE',
          `cannot read the xattrs of ${path}: ${xattrsError}; expected llistxattr and lgetxattr to succeed`,
        );
      }
      const entry: DescribedEntry = {
        path,
        fsPath,
        type,
        head: results[at + 1] as string,
        tail: results[at + 2] as string,
      };
      const sha256 = results[at + 3] as string | undefined;
      const unreadable = results[at + 4] as string | undefined;
      if (sha256 !== undefined) entry.sha256 = sha256;
      if (unreadable !== undefined) entry.unreadable = unreadable;
      entries.push(entry);
    }
    return { entries };
  }

  /** The sha256 of one file already described; hashes asked for in the same tick travel together. */
  hash(path: string | Buffer, size: number): Promise<HashResult> {
    return new Promise((resolve) => {
      this.#hashes.push({ path, size, resolve });
      this.#hashBytes += size;
      if (this.#hashes.length >= hashBatchFiles || this.#hashBytes >= hashBatchBytes) this.#flushHashes();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flushHashes();
        });
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #flushHashes(): void {
    const jobs = this.#hashes;
    if (jobs.length === 0) return;
    this.#hashes = [];
    this.#hashBytes = 0;
    this.#submit({ kind: 'hash', paths: packed(jobs.map((j) => j.path)) }).then(
      (results) => {
        jobs.forEach((job, i) => {
          const sha256 = results[i * 2] as string | undefined;
          job.resolve(
            sha256 !== undefined ? { sha256 } : { error: (results[i * 2 + 1] as string) ?? 'EWORKER' },
          );
        });
      },
      (error: Error) => {
        for (const job of jobs) job.resolve({ error: String(error) });
      },
    );
  }

  #submit(message: Job['message']): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      if (this.#slots.length === 0) {
        reject(this.#died ?? new Error('the file pool has no worker thread'));
        return;
      }
      this.#queue.push({ message, resolve, reject });
      this.#dispatch();
    });
  }

  #start(xattrs: string | undefined): Slot {
    const worker = new Worker(workerSource, { eval: true, workerData: { xattrs } });
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (message: { id: number; results: unknown[] }) => {
      const job = slot.inFlight.get(message.id);
      slot.inFlight.delete(message.id);
      job?.resolve(message.results);
      if (slot.inFlight.size === 0) worker.unref();
      this.#dispatch();
    });
    worker.on('error', (error) => {
      // A dead worker must not leave its jobs unanswered, nor be given more; with none left, the
      // queued jobs fail too.
      for (const job of slot.inFlight.values()) job.reject(error);
      slot.inFlight.clear();
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      if (this.#slots.length === 0) {
        this.#died = error;
        for (const job of this.#queue.slice(this.#head)) job.reject(error);
        this.#queue = [];
        this.#head = 0;
      }
    });
    worker.unref();
    return slot;
  }

  #dispatch(): void {
    if (this.#head > 4096) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    while (this.#head < this.#queue.length && this.#slots.length > 0) {
      const slot = this.#slots.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
      if (slot.inFlight.size >= jobsPerWorker) return;
      const job = this.#queue[this.#head++]!;
      const id = this.#nextJob++;
      slot.inFlight.set(id, job);
      slot.worker.ref();
      slot.worker.postMessage({ id, ...job.message });
    }
  }
}
