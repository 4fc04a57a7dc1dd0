/**
 * Following one Docker-API engine's container events: the cursor check, the request filtered to
 * herd's instances, and the newline-delimited JSON it streams. DockerEngine follows its one engine
 * this way, SwarmEngine each node's.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { EngineError, instanceLabels } from '../engine.js';
import type { EngineEventRecord } from './engine-json.js';

export type JsonRecord = Record<string, unknown>;

/** herd's instances only: the engine filters by the label every instance carries. */
export const herdOnly = `${instanceLabels.managedBy}=herd`;

/**
 * Where the events start: `since`, a cursor as the events carry it (the engine replays what it
 * recorded after it), or the current second, so what happens right after the call is seen.
 */
export function eventsSince(since: string | undefined): string {
  if (since !== undefined && !/^\d{1,12}(?:\.\d{1,9})?$/.test(since)) {
    throw new EngineError(
      'OTHER',
      `event cursor ${JSON.stringify(since.slice(0, 40))}: expected seconds since the epoch such as 1700000000.123456`,
    );
  }
  return since ?? String(Math.floor(Date.now() / 1000));
}

/**
 * Asks the engine for its container events from `since` and hands each record on as it arrives.
 * `onEnd` is called when the stream fails or ends (also when the request itself fails); an abort
 * destroys the stream.
 */
export function followContainerEvents(
  docker: Docker,
  options: { since: string; signal: AbortSignal },
  handlers: { onRecord: (record: EngineEventRecord) => void; onEnd: (error: unknown) => void },
): void {
  const { since, signal } = options;
  docker
    .getEvents({
      since,
      filters: { type: ['container'], label: [herdOnly] },
      abortSignal: signal,
      // The engine takes fractional seconds; dockerode's type says a number.
    } as unknown as Docker.GetEventsOptions)
    .then((response) => {
      const stream = response as unknown as Readable;
      signal.addEventListener('abort', () => stream.destroy(), { once: true });
      forEachJsonLine(stream, (record) => handlers.onRecord(record as EngineEventRecord));
      stream.once('error', handlers.onEnd);
      stream.once('end', () => handlers.onEnd(new Error('the engine closed its event stream')));
    }, handlers.onEnd);
}

/** Newline-delimited JSON as the engine streams it; chunks do not align with lines. */
export function forEachJsonLine(stream: Readable, onRecord: (record: JsonRecord) => void): void {
  let pending = '';
  const take = (text: string) => {
    const line = text.trim();
    if (line === '') return;
    try {
      onRecord(JSON.parse(line) as JsonRecord);
    } catch {
      // A line that is not JSON carries nothing herd reads.
    }
  };
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      take(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  stream.on('end', () => take(pending));
}
