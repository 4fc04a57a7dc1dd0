/**
 * Every table in herd.db, as one ordered list. Each area appends its migrations here (never edits a
 * shipped one): the order across areas is what `user_version` counts, so it must be global.
 * Table names start with their area; only that area's module reads or writes them.
 */
import type { Migration } from './migrate.js';

export const stateMigrations: readonly Migration[] = [
  {
    version: 1,
    area: 'journal',
    name: 'create journal',
    sql: `
      CREATE TABLE journal (
        id        INTEGER PRIMARY KEY CHECK (id >= 1),
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        service   TEXT,
        digest    TEXT,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      ) STRICT;
      CREATE INDEX journal_service ON journal (service, id);
      CREATE INDEX journal_at ON journal (at);

      -- The last id and hash, updated with every append: the chain alone cannot show that its tail
      -- was cut off, the head can.
      CREATE TABLE journal_head (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        last_id   INTEGER NOT NULL,
        hash      TEXT NOT NULL
      ) STRICT;

      -- Append-only by construction. Someone with the file can drop these; journal verify catches that.
      CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
        BEGIN SELECT RAISE(ABORT, 'journal is append-only: rows cannot be updated'); END;
      CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
        BEGIN SELECT RAISE(ABORT, 'journal is append-only: rows cannot be deleted'); END;
      CREATE TRIGGER journal_head_forward_only BEFORE UPDATE ON journal_head
        WHEN NEW.last_id <= OLD.last_id
        BEGIN SELECT RAISE(ABORT, 'journal head only moves forward'); END;
      CREATE TRIGGER journal_head_no_delete BEFORE DELETE ON journal_head
        BEGIN SELECT RAISE(ABORT, 'journal head cannot be deleted'); END;
    `,
  },
  {
    version: 2,
    area: 'catalog',
    name: 'create releases and revocations',
    sql: `
      -- One row per release event; a digest's stage is that of its latest row. Never updated.
      CREATE TABLE catalog_release (
        id         INTEGER PRIMARY KEY,
        service    TEXT NOT NULL,
        digest     TEXT NOT NULL,
        stage      TEXT NOT NULL CHECK (stage IN ('candidate', 'accepted', 'production')),
        actor      TEXT NOT NULL,
        at         TEXT NOT NULL,
        journal_id INTEGER NOT NULL UNIQUE REFERENCES journal (id)
      ) STRICT;
      CREATE INDEX catalog_release_digest ON catalog_release (service, digest, id);
      CREATE INDEX catalog_release_stage ON catalog_release (service, stage, id);

      -- Revocation is per digest, whatever service revoked it: a bad image is bad everywhere.
      CREATE TABLE catalog_revocation (
        digest     TEXT PRIMARY KEY,
        service    TEXT NOT NULL,
        reason     TEXT NOT NULL,
        actor      TEXT NOT NULL,
        at         TEXT NOT NULL,
        journal_id INTEGER NOT NULL UNIQUE REFERENCES journal (id)
      ) STRICT;

      -- The catalog module checks these rules first and raises CatalogError; the triggers are the
      -- backstop for any other writer.
      CREATE TRIGGER catalog_release_not_revoked BEFORE INSERT ON catalog_release
        WHEN EXISTS (SELECT 1 FROM catalog_revocation WHERE digest = NEW.digest)
        BEGIN SELECT RAISE(ABORT, 'digest is revoked'); END;
      CREATE TRIGGER catalog_release_no_update BEFORE UPDATE ON catalog_release
        BEGIN SELECT RAISE(ABORT, 'catalog releases are history: rows cannot be updated'); END;
      CREATE TRIGGER catalog_release_no_delete BEFORE DELETE ON catalog_release
        BEGIN SELECT RAISE(ABORT, 'catalog releases are history: rows cannot be deleted'); END;
      CREATE TRIGGER catalog_revocation_no_update BEFORE UPDATE ON catalog_revocation
        BEGIN SELECT RAISE(ABORT, 'revocations are permanent: rows cannot be updated'); END;
      CREATE TRIGGER catalog_revocation_no_delete BEFORE DELETE ON catalog_revocation
        BEGIN SELECT RAISE(ABORT, 'revocations are permanent: rows cannot be deleted'); END;
    `,
  },
  {
    version: 3,
    area: 'fleet',
    name: 'create fleets and fleet history',
    sql: `
      -- The desired state of each service's fleet: what the controller reconciles towards. Instances
      -- are not stored: the engine's labels are the truth, so a restarted controller adopts them.
      CREATE TABLE fleets (
        service             TEXT PRIMARY KEY,
        release             TEXT NOT NULL,
        digest              TEXT NOT NULL,
        size                INTEGER NOT NULL CHECK (size >= 0),
        spec_json           TEXT NOT NULL,
        status              TEXT NOT NULL CHECK (status IN ('progressing', 'reverting', 'complete', 'failed')),
        -- While a rollout runs: when it began and when it last made progress (the deadline's start).
        rollout_started_at  TEXT,
        progress_at         TEXT,
        updated_at          TEXT NOT NULL
      ) STRICT;

      -- Every rollout's start and end, in order; rollback and auto-revert pick the last release that
      -- completed. Never updated.
      CREATE TABLE fleet_history (
        service  TEXT NOT NULL,
        seq      INTEGER NOT NULL CHECK (seq >= 1),
        release  TEXT NOT NULL,
        digest   TEXT NOT NULL,
        outcome  TEXT NOT NULL CHECK (outcome IN ('started', 'complete', 'failed')),
        reason   TEXT NOT NULL,
        -- The template the release ran with, so a revert or rollback runs it as it was.
        spec_json TEXT NOT NULL,
        at       TEXT NOT NULL,
        PRIMARY KEY (service, seq)
      ) STRICT;
      CREATE INDEX fleet_history_outcome ON fleet_history (service, outcome, seq);

      CREATE TRIGGER fleet_history_no_update BEFORE UPDATE ON fleet_history
        BEGIN SELECT RAISE(ABORT, 'fleet history is history: rows cannot be updated'); END;
    `,
  },
  {
    version: 4,
    area: 'watch',
    name: 'create incidents',
    sql: `
      -- One row per instance found changed (drift), opened (exec) or untrusted (manifest did not
      -- verify). Times are ISO 8601 UTC; replaced_at is set once, when the instance is gone.
      CREATE TABLE incidents (
        id              INTEGER PRIMARY KEY,
        service         TEXT NOT NULL,
        instance        TEXT NOT NULL,
        digest          TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('drift', 'exec', 'untrusted')),
        detected_at     TEXT NOT NULL,
        replaced_at     TEXT,
        -- The evidence artifact in the store (a referrer of the image), when there is one.
        evidence_digest TEXT,
        journal_id      INTEGER REFERENCES journal (id),
        summary         TEXT NOT NULL,
        UNIQUE (instance, kind)
      ) STRICT;
      CREATE INDEX incidents_open ON incidents (replaced_at, instance);

      CREATE TRIGGER incidents_replaced_once BEFORE UPDATE ON incidents
        WHEN OLD.replaced_at IS NOT NULL OR NEW.detected_at IS NOT OLD.detected_at
          OR NEW.instance IS NOT OLD.instance OR NEW.kind IS NOT OLD.kind
        BEGIN SELECT RAISE(ABORT, 'incidents are history: only replaced_at is set, once'); END;
    `,
  },
  {
    version: 5,
    area: 'auth',
    name: 'create API tokens',
    sql: `
      -- One row per live API token (herd token create). Only sha256 of the token is kept: the token
      -- itself is shown once to whoever created it. A revoked token's row is deleted; the journal
      -- keeps who created and revoked it.
      CREATE TABLE auth_tokens (
        id           TEXT PRIMARY KEY CHECK (length(id) = 12),
        name         TEXT NOT NULL UNIQUE,
        role         TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'releaser', 'admin')),
        hash         BLOB NOT NULL CHECK (length(hash) = 32),
        created_at   TEXT NOT NULL,
        created_by   TEXT NOT NULL,
        last_used_at TEXT
      ) STRICT;
    `,
  },
  {
    version: 6,
    area: 'watch',
    name: 'record how an incident left the front door',
    sql: `
      -- out-of-door: the instance left the front door when it was detected; kept-serving: no other
      -- instance was ready, so it served until its replacement was. NULL for untrusted instances
      -- (never ready) and incidents recorded before quarantine existed.
      ALTER TABLE incidents ADD COLUMN quarantine TEXT
        CHECK (quarantine IN ('out-of-door', 'kept-serving'));
    `,
  },
  {
    version: 7,
    area: 'watch',
    name: 'keep the last engine event handled',
    sql: `
      -- Where the integrity monitor is in the engine's record of events (the event's cursor, e.g.
      -- seconds since the epoch with a fraction), so that after a restart it asks the engine to
      -- replay from there and an exec while herd was down is still an incident.
      CREATE TABLE watch_event_cursor (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        cursor    TEXT NOT NULL,
        at        TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 8,
    area: 'watch',
    name: 'let an incident be a process off the allowlist',
    sql: `
      -- A process the allowlist does not name (run.processes) is an incident of its own kind.
      -- SQLite cannot change a CHECK in place, so the table is made again with the same rows, and
      -- its index and trigger with it (https://www.sqlite.org/lang_altertable.html#otheralter).
      CREATE TABLE incidents_next (
        id              INTEGER PRIMARY KEY,
        service         TEXT NOT NULL,
        instance        TEXT NOT NULL,
        digest          TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('drift', 'exec', 'process', 'untrusted')),
        detected_at     TEXT NOT NULL,
        replaced_at     TEXT,
        evidence_digest TEXT,
        journal_id      INTEGER REFERENCES journal (id),
        summary         TEXT NOT NULL,
        quarantine      TEXT CHECK (quarantine IN ('out-of-door', 'kept-serving')),
        UNIQUE (instance, kind)
      ) STRICT;
      INSERT INTO incidents_next
        SELECT id, service, instance, digest, kind, detected_at, replaced_at, evidence_digest,
               journal_id, summary, quarantine
        FROM incidents;
      DROP TABLE incidents;
      ALTER TABLE incidents_next RENAME TO incidents;
      CREATE INDEX incidents_open ON incidents (replaced_at, instance);
      CREATE TRIGGER incidents_replaced_once BEFORE UPDATE ON incidents
        WHEN OLD.replaced_at IS NOT NULL OR NEW.detected_at IS NOT OLD.detected_at
          OR NEW.instance IS NOT OLD.instance OR NEW.kind IS NOT OLD.kind
        BEGIN SELECT RAISE(ABORT, 'incidents are history: only replaced_at is set, once'); END;
    `,
  },
  {
    version: 9,
    area: 'debug',
    name: 'create debug sessions',
    sql: `
      -- One row per break-glass session (herd debug). An instance with a row whose destroyed_at is
      -- NULL is tainted: it never serves again, and a control plane that restarts destroys it
      -- before anything else. The reason and the actor are in the journal too; the transcript is a
      -- referrer of the image in the store. Times are ISO 8601 UTC.
      CREATE TABLE debug_sessions (
        id           TEXT PRIMARY KEY CHECK (length(id) = 16),
        service      TEXT NOT NULL,
        instance     TEXT NOT NULL,
        digest       TEXT NOT NULL,
        actor        TEXT NOT NULL,
        reason       TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        ended_at     TEXT,
        ended        TEXT CHECK (ended IN ('exit', 'ttl', 'disconnected', 'transcript-full', 'stopped', 'failed')),
        exit_code    INTEGER,
        transcript   TEXT,
        destroyed_at TEXT
      ) STRICT;
      CREATE INDEX debug_sessions_tainted ON debug_sessions (destroyed_at, instance);
    `,
  },
  {
    version: 10,
    area: 'fleet',
    name: 'call the short digest a fleet runs its revision',
    sql: `
      -- "release" is the catalog's word (a digest released at a stage); what a fleet and its history
      -- hold is the short digest of the image they run, its revision. Rows keep their values.
      ALTER TABLE fleets RENAME COLUMN release TO revision;
      ALTER TABLE fleet_history RENAME COLUMN release TO revision;
    `,
  },
  {
    version: 11,
    area: 'pipeline',
    name: 'create remediation runs and first-seen versions',
    sql: `
      -- When herd first saw each package version in a signed archive, for time-to-remediate: the
      -- Release Date of the first signed index that carried it, and when herd saw it. One row per
      -- service, package and version; never updated, so a later Release cannot move it forward.
      CREATE TABLE pipeline_visible (
        service       TEXT NOT NULL,
        package       TEXT NOT NULL,
        version       TEXT NOT NULL,
        visible_at    TEXT NOT NULL,
        first_seen_at TEXT NOT NULL,
        PRIMARY KEY (service, package, version)
      ) STRICT;
      -- One row per remediation run (src/pipeline/remediation-run.ts). findings is the JSON of what
      -- started it; target names what it builds (the fresh lock's packages and the spec), so the
      -- monitor never starts a second run for a target that already failed. Times are ISO 8601 UTC.
      CREATE TABLE pipeline_runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        service       TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('running', 'awaiting-approval', 'succeeded', 'failed')),
        stage         TEXT,
        trigger       TEXT NOT NULL CHECK (trigger IN ('schedule', 'check')),
        findings      TEXT NOT NULL,
        target        TEXT NOT NULL,
        -- The spec's digest the run was started with: a run resumed or approved later goes on
        -- only with the same spec, so what rolls out is what was accepted.
        spec_digest   TEXT NOT NULL,
        from_digest   TEXT NOT NULL,
        digest        TEXT,
        created_at    TEXT NOT NULL,
        ended_at      TEXT,
        error         TEXT,
        -- 1 when the control plane stopped during the run: its target may be tried again.
        interrupted   INTEGER NOT NULL DEFAULT 0 CHECK (interrupted IN (0, 1)),
        ttr_ms        INTEGER
      ) STRICT;
      CREATE INDEX pipeline_runs_service ON pipeline_runs (service, id);
      CREATE TABLE pipeline_stages (
        run         INTEGER NOT NULL REFERENCES pipeline_runs (id),
        stage       TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'skipped')),
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        duration_ms INTEGER,
        output      TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run, stage)
      ) STRICT;
      -- Where each fleet's spec lives, as herd up or herd serve --spec registered it: the monitor
      -- re-locks and rebuilds from here.
      CREATE TABLE pipeline_sources (
        service    TEXT PRIMARY KEY,
        spec_path  TEXT NOT NULL,
        added_at   TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 12,
    area: 'fleet',
    name: 'keep whether a fleet is paused',
    sql: `
      -- herd pause: set while the fleet's rollout is paused (it still scales and heals), with who
      -- paused it; NULL when it is not. Kept here so a restarted control plane stays paused.
      ALTER TABLE fleets ADD COLUMN paused_at TEXT;
      ALTER TABLE fleets ADD COLUMN paused_by TEXT;
    `,
  },
];
