/**
 * `GET /api/v1/fleets/:service/logs`, read from the log store, so the lines of destroyed instances
 * are there too and no engine is needed. Query: `instance` (id or prefix), `since` (10m, ISO 8601
 * or epoch ms), `grep` (a regular expression), `tail` (the newest n lines, default 100), and
 * `follow=1`: the same lines, then new ones as they come, as NDJSON (one JSON object a line)
 * until the client goes away.
 */

import type { LogQuery, LogStore, LogStoreStats, StoredLogEntry } from '../../logs/index.js';
import { compileGrep, parseSince } from '../../logs/index.js';

/** A line as the API shows it: no seq (the store's business), a readable time. */
export interface LogLineView {
  time: string;
  service: string;
  instance: string;
  revision: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface LogsAnswer {
  service: string;
  lines: LogLineView[];
  /** Size, segments and health: a full disk shows here as `health.kind: "write-failed"`. */
  storage: LogStoreStats;
}

/** Throws LogError (400) for a `since` or `grep` that does not parse. */
export function logQueryFrom(
  service: string,
  params: { instance?: string; since?: string; grep?: string; tail?: string },
  now: number,
): LogQuery {
  const tail = Number(params.tail ?? 100);
  return {
    service,
    limit: Number.isInteger(tail) ? Math.min(Math.max(tail, 1), 10_000) : 100,
    ...(params.instance ? { instance: params.instance } : {}),
    ...(params.since ? { since: parseSince(params.since, now) } : {}),
    ...(params.grep ? { grep: compileGrep(params.grep) } : {}),
  };
}

export async function queryLogs(store: LogStore, query: LogQuery): Promise<LogsAnswer> {
  const lines = await store.query(query);
  return { service: query.service, lines: lines.map(viewOf), storage: store.stats() };
}

/** NDJSON (`ndjsonHeaders`): the stored lines, then new ones as they come, until `signal` aborts. */
export function followLogsStream(
  store: LogStore,
  query: LogQuery,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const abort = new AbortController();
  signal.addEventListener('abort', () => abort.abort(), { once: true });
  const encoder = new TextEncoder();
  const lines = store.follow({ ...query, signal: abort.signal })[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(`${JSON.stringify(viewOf(next.value))}\n`));
    },
    async cancel() {
      abort.abort();
      await lines.return?.();
    },
  });
  return body;
}

export const ndjsonHeaders = { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' };

function viewOf(entry: StoredLogEntry): LogLineView {
  return {
    time: new Date(entry.time).toISOString(),
    service: entry.service,
    instance: entry.instance,
    revision: entry.revision,
    stream: entry.stream,
    text: entry.text,
  };
}
