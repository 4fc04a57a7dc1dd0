/**
 * The tables herd.db's migrations create, with the digest of the migrations they were replayed
 * from. Written by `node --import tsx scripts/record-state-schema.ts`; not edited by hand.
 */
export const recordedSchema: {
  migrationsSha256: string;
  tables: Record<string, { area: string; columns: readonly string[] }>;
} = {
  migrationsSha256: '0695bb2ae795883c238e4a9aad6605cb4b876d0fcd6a599f4fff6b4b3b3f5f87',
  tables: {
    auth_tokens: {
      area: 'auth',
      columns: [
        'id text not null pk 1',
        'name text not null',
        'role text not null',
        'hash blob not null',
        'created_at text not null',
        'created_by text not null',
        'last_used_at text',
      ],
    },
    catalog_release: {
      area: 'catalog',
      columns: [
        'id integer pk 1',
        'service text not null',
        'digest text not null',
        'stage text not null',
        'actor text not null',
        'at text not null',
        'journal_id integer not null',
      ],
    },
    catalog_revocation: {
      area: 'catalog',
      columns: [
        'digest text not null pk 1',
        'service text not null',
        'reason text not null',
        'actor text not null',
        'at text not null',
        'journal_id integer not null',
      ],
    },
    debug_sessions: {
      area: 'debug',
      columns: [
        'id text not null pk 1',
        'service text not null',
        'instance text not null',
        'digest text not null',
        'actor text not null',
        'reason text not null',
        'started_at text not null',
        'expires_at text not null',
        'ended_at text',
        'ended text',
        'exit_code integer',
        'transcript text',
        'destroyed_at text',
      ],
    },
    fleet_history: {
      area: 'fleet',
      columns: [
        'service text not null pk 1',
        'seq integer not null pk 2',
        'revision text not null',
        'digest text not null',
        'outcome text not null',
        'reason text not null',
        'spec_json text not null',
        'at text not null',
      ],
    },
    fleets: {
      area: 'fleet',
      columns: [
        'service text not null pk 1',
        'revision text not null',
        'digest text not null',
        'size integer not null',
        'spec_json text not null',
        'status text not null',
        'rollout_started_at text',
        'progress_at text',
        'updated_at text not null',
        'paused_at text',
        'paused_by text',
      ],
    },
    incidents: {
      area: 'watch',
      columns: [
        'id integer pk 1',
        'service text not null',
        'instance text not null',
        'digest text not null',
        'kind text not null',
        'detected_at text not null',
        'replaced_at text',
        'evidence_digest text',
        'journal_id integer',
        'summary text not null',
        'quarantine text',
      ],
    },
    journal: {
      area: 'journal',
      columns: [
        'id integer pk 1',
        'at text not null',
        'actor text not null',
        'action text not null',
        'service text',
        'digest text',
        'details text not null',
        'prev_hash text not null',
        'hash text not null',
      ],
    },
    journal_head: {
      area: 'journal',
      columns: ['singleton integer pk 1', 'last_id integer not null', 'hash text not null'],
    },
    pipeline_runs: {
      area: 'pipeline',
      columns: [
        'id integer pk 1',
        'service text not null',
        'status text not null',
        'stage text',
        'trigger text not null',
        'findings text not null',
        'target text not null',
        'spec_digest text not null',
        'from_digest text not null',
        'digest text',
        'created_at text not null',
        'ended_at text',
        'error text',
        'interrupted integer not null',
        'ttr_ms integer',
      ],
    },
    pipeline_sources: {
      area: 'pipeline',
      columns: ['service text not null pk 1', 'spec_path text not null', 'added_at text not null'],
    },
    pipeline_stages: {
      area: 'pipeline',
      columns: [
        'run integer not null pk 1',
        'stage text not null pk 2',
        'status text not null',
        'started_at text not null',
        'ended_at text',
        'duration_ms integer',
        'output text not null',
      ],
    },
    pipeline_visible: {
      area: 'pipeline',
      columns: [
        'service text not null pk 1',
        'package text not null pk 2',
        'version text not null pk 3',
        'visible_at text not null',
        'first_seen_at text not null',
      ],
    },
    watch_event_cursor: {
      area: 'watch',
      columns: ['singleton integer pk 1', 'cursor text not null', 'at text not null'],
    },
  },
};
