/**
 * The log area's data and roles. An entry is one line of an instance's output as the program wrote
 * it, labelled with where it came from; it never carries the instance's environment.
 */

/** One stored line. `time` is the engine's timestamp (epoch ms), `seq` the store's append order. */
export interface LogEntry {
  service: string;
  instance: string;
  revision: string;
  stream: 'stdout' | 'stderr';
  time: number;
  text: string;
}

export interface StoredLogEntry extends LogEntry {
  /** Increases with every append and survives a restart; follow uses it to hand out a line once. */
  seq: number;
}

export interface LogQuery {
  service: string;
  instance?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  grep?: RegExp;
  /** The newest `limit` matching lines, oldest first. */
  limit: number;
}

/** Where the collector hands lines: the store, and any forwarder. `write` never throws. */
export interface LogSink {
  write(entries: readonly LogEntry[]): void;
  /** Delivers or stores what is pending, then lets go of files and sockets. */
  close(): Promise<void>;
}

/** Disk trouble is a status, not an exception: the collector and the instances carry on. */
export type LogStoreHealth =
  | { kind: 'ok' }
  | { kind: 'write-failed'; code: string; since: number; droppedLines: number; message: string };

export interface LogStoreStats {
  bytes: number;
  segments: number;
  health: LogStoreHealth;
}

/** Where the collector resumes an instance: its newest stored time, and what was stored at it. */
export interface ResumePoint {
  time: number;
  /** `stream + "\n" + text` of each line stored at `time`, so a resumed read skips exactly those. */
  atTime: string[];
}

export interface LogStore extends LogSink {
  query(query: LogQuery): Promise<StoredLogEntry[]>;
  /** Matching stored lines from `since` (the newest `limit` of them), then new ones as they are written. */
  follow(query: LogQuery & { signal: AbortSignal }): AsyncIterable<StoredLogEntry>;
  resumePoint(instance: string): ResumePoint | undefined;
  /** Deletes what is older than the age limit, then the oldest segments past the size limit. */
  enforceRetention(): Promise<void>;
  stats(): LogStoreStats;
}
