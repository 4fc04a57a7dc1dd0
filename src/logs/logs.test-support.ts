/** A fake clock, a temp logs directory, lines to store, and a writer that can run out of disk. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { FsSegmentWriter, type SegmentWriter } from './segment-writer.js';
import type { LogEntry } from './types.js';

export const t0 = Date.UTC(2025, 0, 1);

export { FakeClock as ManualClock } from '../common/clock.test-support.js';

export function tempLogsDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'herd-logs-'));
}

export function line(overrides: Partial<LogEntry> & { text: string }): LogEntry {
  return { service: 'web', instance: 'inst-a', revision: 'r1', stream: 'stdout', time: t0, ...overrides };
}

/** Writes to disk, except while `full`: then every append writes half its bytes and fails with ENOSPC. */
export class FillableWriter implements SegmentWriter {
  full = false;
  private readonly fs = new FsSegmentWriter();

  async append(path: string, data: Buffer): Promise<void> {
    if (!this.full) return this.fs.append(path, data);
    await this.fs.append(path, data.subarray(0, Math.floor(data.length / 2)));
    throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });
  }

  truncate(path: string, length: number): Promise<void> {
    return this.fs.truncate(path, length);
  }

  async writeAtomic(path: string, data: string): Promise<void> {
    if (this.full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    return this.fs.writeAtomic(path, data);
  }

  remove(path: string): Promise<void> {
    return this.fs.remove(path);
  }
}

export class RecordingLogger implements Pick<Logger, 'info' | 'warn'> {
  readonly lines: { level: 'info' | 'warn'; meta: Record<string, unknown>; message: string }[] = [];

  info(meta: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', meta, message });
  }

  warn(meta: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', meta, message });
  }
}
