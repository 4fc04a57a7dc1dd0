/**
 * sha256 of many files on every core: a small pool of worker threads, each reading with a 1 MiB
 * buffer. Jobs are sent in batches so that the message overhead does not dominate for the many
 * small files of a system tree.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type HashResult = { sha256: string } | { error: string };

/**
 * The worker is plain JavaScript evaluated from this string, so that it runs the same under tsx,
 * the installed `herd` bin and any bundler, with no loader to inherit. It opens with O_NOFOLLOW
 * and O_NONBLOCK and re-checks the type: a file swapped for a symlink or a FIFO after the walk's
 * lstat is reported, never followed or blocked on.
 */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
const buffer = Buffer.allocUnsafe(1 << 20);
function hashOne(path) {
  let fd;
  try {
    fd = fs.openSync(typeof path === 'string' ? path : Buffer.from(path), flags);
    if (!fs.fstatSync(fd).isFile()) return { error: 'ENOTREG' };
    const hash = createHash('sha256');
    let n;
    while ((n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, n));
    return { sha256: hash.digest('hex') };
  } catch (error) {
    return { error: (error && error.code) || String(error) };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
parentPort.on('message', (batch) => {
  parentPort.postMessage({ id: batch.id, results: batch.paths.map(hashOne) });
});
`;

interface Job {
  path: string | Buffer;
  size: number;
  resolve: (result: HashResult) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Job[]>;
}

/** A batch closes at this many files or bytes, whichever comes first. */
const batchFiles = 128;
const batchBytes = 32 * 1024 * 1024;
/** Batches queued per worker, so that a worker never waits for the main thread between two. */
const batchesPerWorker = 2;

export class WorkerHashPool {
  readonly #slots: Slot[];
  /** Pending jobs from #head on; compacted now and then instead of shifting one by one. */
  #queue: Job[] = [];
  #head = 0;
  #nextBatch = 0;
  #scheduled = false;

  constructor(options: { workers?: number } = {}) {
    const count = Math.max(1, options.workers ?? availableParallelism());
    this.#slots = Array.from({ length: count }, () => this.#start());
  }

  hash(path: string | Buffer, size: number): Promise<HashResult> {
    return new Promise((resolve) => {
      this.#queue.push({ path, size, resolve });
      // Dispatch once per tick: jobs queued in the same tick travel together.
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#dispatch();
        });
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #start(): Slot {
    const worker = new Worker(workerSource, { eval: true });
    const slot: Slot = { worker, inFlight: new Map() };
    worker.on('message', (message: { id: number; results: HashResult[] }) => {
      const jobs = slot.inFlight.get(message.id) ?? [];
      slot.inFlight.delete(message.id);
      jobs.forEach((job, i) => {
        job.resolve(message.results[i] ?? { error: 'EWORKER' });
      });
      if (slot.inFlight.size === 0) worker.unref();
      this.#dispatch();
    });
    worker.on('error', (error) => {
      // A dead worker must not leave its files unanswered: they resolve as unreadable.
      for (const jobs of slot.inFlight.values())
        for (const job of jobs) job.resolve({ error: String(error) });
      slot.inFlight.clear();
    });
    worker.unref();
    return slot;
  }

  #dispatch(): void {
    if (this.#head > 4096) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    while (this.#head < this.#queue.length) {
      const slot = this.#slots.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
      if (slot.inFlight.size >= batchesPerWorker) return;
      const jobs: Job[] = [];
      let bytes = 0;
      while (
        this.#head < this.#queue.length &&
        jobs.length < batchFiles &&
        (jobs.length === 0 || bytes < batchBytes)
      ) {
        const job = this.#queue[this.#head++]!;
        jobs.push(job);
        bytes += job.size;
      }
      const id = this.#nextBatch++;
      slot.inFlight.set(id, jobs);
      slot.worker.ref();
      slot.worker.postMessage({ id, paths: jobs.map((j) => j.path) });
    }
  }
}
