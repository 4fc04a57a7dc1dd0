/**
 * When each package version was first visible in the signed archive, for time-to-remediate: the
 * Date of the first signed Release herd saw carrying it, kept in herd.db (`pipeline_visible`). A
 * row is written once and never updated, so a later Release, or a mirror re-signing an old one,
 * can never move it.
 */
import type { Database, Statement } from 'better-sqlite3';

/** One version of one package, as one fleet's lock resolves it. */
export interface SeenVersion {
  service: string;
  /** The package name (`image.from` for a base image, whose version is its digest). */
  name: string;
  version: string;
}

export class VisibleVersions {
  private readonly insert: Statement<[string, string, string, string, string]>;
  private readonly select: Statement<[string, string, string], { visible_at: string }>;

  constructor(db: Database) {
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO pipeline_visible (service, package, version, visible_at, first_seen_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.select = db.prepare(
      'SELECT visible_at FROM pipeline_visible WHERE service = ? AND package = ? AND version = ?',
    );
  }

  /**
   * The stored moment, recording it on first sight: the Release's Date, or `now` when the Release
   * has none. A Date after `now` (a skewed or hostile mirror) is taken as `now`: a fix cannot have
   * been visible before herd could see it, and time-to-remediate is never negative.
   */
  visibleAt(seen: SeenVersion, options: { releaseDate?: string; now: string }): string {
    this.insert.run(
      seen.service,
      seen.name,
      seen.version,
      firstVisible(options.releaseDate, options.now),
      options.now,
    );
    const row = this.select.get(seen.service, seen.name, seen.version);
    // The row was just inserted or already there: only a dropped table could lose it.
    if (!row)
      throw new Error(`pipeline_visible lost the row of ${seen.service} ${seen.name} ${seen.version}`);
    return row.visible_at;
  }

  /** The stored moment, without recording anything. */
  lookup(seen: SeenVersion): string | undefined {
    return this.select.get(seen.service, seen.name, seen.version)?.visible_at;
  }
}

/** The earlier of a Release's Date and now, as ISO 8601 UTC; now when the date does not read. */
export function firstVisible(releaseDate: string | undefined, now: string): string {
  const release = releaseDate === undefined ? Number.NaN : Date.parse(releaseDate);
  const seen = Date.parse(now);
  if (Number.isNaN(release) || release > seen) return new Date(seen).toISOString();
  return new Date(release).toISOString();
}
