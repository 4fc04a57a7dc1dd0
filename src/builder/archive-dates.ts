/**
 * HERD_HOME/archive-dates.json: the newest signed Release `Date` herd has accepted, per repository
 * and suite. herd.lock remembers the same for one spec; this file remembers it for every spec this
 * HERD_HOME resolves, so a fresh spec (or a deleted lock) is no way to roll an archive back.
 *
 * A small JSON file rather than a table in herd.db: it belongs to the resolver, which does not
 * open the state database, and it stays readable and editable by hand (deleting an entry is how
 * an operator forgets a date on purpose). Writes are serialized across processes by a lock file,
 * merged (a date only moves forward) and renamed into place, mode 0600.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { readRegularFile, writeAtomic } from '../common/index.js';
import type { RememberedReleaseDate, ServedRelease } from '../debian/index.js';
import { withStoreLock } from '../oci/index.js';
import { BuildError } from './errors.js';
import type { Lock } from './lock-file.js';

/** A date per suite and mirror is a few hundred bytes; a larger file here was not written by herd. */
const maxFileBytes = 16 * 1024 ** 2;

const ArchiveDatesSchema = z.strictObject({
  version: z.literal(1),
  releases: z.array(
    z.strictObject({ repository: z.string().min(1), suite: z.string().min(1), date: z.iso.datetime() }),
  ),
});

type ArchiveDatesFile = z.infer<typeof ArchiveDatesSchema>;

export class ArchiveDates {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** What this HERD_HOME accepted before; nothing when the file does not exist yet. */
  async read(): Promise<RememberedReleaseDate[]> {
    const file = await this.load();
    return file.releases.map((entry) => ({
      repository: entry.repository,
      suite: entry.suite,
      date: new Date(entry.date),
      from: this.path,
    }));
  }

  /** Remembers the dates of Releases just accepted; a remembered date never moves back. */
  async record(accepted: readonly ServedRelease[]): Promise<void> {
    const dated = accepted.filter(
      (release): release is Required<ServedRelease> => release.date !== undefined,
    );
    if (dated.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await withStoreLock(`${this.path}.lock`, async () => {
      const file = await this.load();
      const entries = new Map(file.releases.map((entry) => [keyOf(entry), entry]));
      for (const release of dated) {
        const key = keyOf(release);
        const known = entries.get(key);
        if (known && new Date(known.date).getTime() >= release.date.getTime()) continue;
        entries.set(key, {
          repository: release.repository,
          suite: release.suite,
          date: release.date.toISOString(),
        });
      }
      const releases = [...entries.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
      const next: ArchiveDatesFile = { version: 1, releases };
      await writeAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    });
  }

  private async load(): Promise<ArchiveDatesFile> {
    let read: Awaited<ReturnType<typeof readRegularFile>>;
    try {
      read = await readRegularFile(this.path, { maxBytes: maxFileBytes });
    } catch (error) {
      throw new BuildError(
        'ARCHIVE_DATES_INVALID',
        `${this.path} cannot be read: ${(error as Error).message}`,
      );
    }
    // Refused, not forgotten, as a damaged file is: a FIFO here would hang every lock, and
    // anything taken for "no dates" would let a rollback through.
    switch (read.kind) {
      case 'missing':
        return { version: 1, releases: [] };
      case 'not-regular':
        throw invalid(this.path, `it is ${read.what}, not a regular file`);
      case 'too-large':
        throw invalid(this.path, `it is ${read.size} bytes, more than the ${maxFileBytes}-byte limit`);
      case 'file':
        break;
    }
    const text = read.bytes.toString('utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw invalid(this.path, `it is not JSON (${(error as Error).message})`);
    }
    const parsed = ArchiveDatesSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalid(this.path, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }
}

/** Failing closed: a damaged memory could hide a rollback, so herd stops rather than forget. */
function invalid(path: string, why: string): BuildError {
  return new BuildError(
    'ARCHIVE_DATES_INVALID',
    `${path}: ${why}; expected {"version": 1, "releases": [{"repository", "suite", "date"}]}. ` +
      'Delete the file to forget every remembered Release date',
  );
}

function keyOf(entry: { repository: string; suite: string }): string {
  return `${entry.repository}\n${entry.suite}`;
}

/** The Release dates a lock was resolved from. A lock names no mirror, so they hold on any mirror. */
export function rememberedFromLock(lock: Lock, options: { lockPath: string }): RememberedReleaseDate[] {
  return lock.suites.flatMap((suite) =>
    suite.date ? [{ suite: suite.suite, date: new Date(suite.date), from: options.lockPath }] : [],
  );
}
