/**
 * Forwards lines to an OTLP/HTTP logs endpoint (`…/v1/logs`) as JSON, in batches: every
 * `intervalMs`, or at once when `batchSize` lines wait. A batch the target refuses for the moment
 * (network error, 429, 5xx) is retried with backoff; one it rejects (other 4xx) is dropped, since
 * sending it again would fail again (OTLP/HTTP "Failures", opentelemetry.io/docs/specs/otlp).
 */
import { backgroundClock, type Clock, type Logger } from '../../common/index.js';
import type { LogEntry, LogSink } from '../types.js';
import { BoundedQueue } from './bounded-queue.js';
import { otlpLogsRequest } from './otlp-logs.js';

export interface OtlpHttpForwarderOptions {
  url: string;
  clock?: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Default 512 lines. */
  batchSize?: number;
  /** Default 10 000 lines. */
  maxQueued?: number;
  /** Default 5000 ms per request. */
  timeoutMs?: number;
}

export class OtlpHttpForwarder implements LogSink {
  private readonly queue: BoundedQueue<LogEntry>;
  private readonly clock: Clock;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private cancelTimer: (() => void) | undefined;
  private sending: Promise<void> | undefined;
  private backoffMs: number;
  private failing = false;
  private closed = false;

  constructor(private readonly options: OtlpHttpForwarderOptions) {
    this.queue = new BoundedQueue(options.maxQueued ?? 10_000);
    this.clock = options.clock ?? backgroundClock;
    this.batchSize = options.batchSize ?? 512;
    this.intervalMs = options.intervalMs ?? 1000;
    this.backoffMs = this.intervalMs;
  }

  write(entries: readonly LogEntry[]): void {
    if (this.closed) return;
    for (const entry of entries) this.queue.push(entry);
    if (this.queue.length >= this.batchSize && !this.failing) this.sendSoon(0);
    else this.sendSoon(this.intervalMs);
  }

  /** One last attempt at what is queued, then no more. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.sending;
    while (this.queue.length > 0) {
      if (!(await this.sendBatch())) break;
    }
  }

  get droppedLines(): number {
    return this.queue.dropped;
  }

  private sendSoon(ms: number): void {
    if (this.sending) return;
    if (this.cancelTimer && ms > 0) return;
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(ms, () => {
      this.cancelTimer = undefined;
      this.sending = this.drain().finally(() => {
        this.sending = undefined;
        if (this.queue.length > 0 && !this.closed) this.sendSoon(this.failing ? this.backoffMs : 0);
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      if (!(await this.sendBatch())) return;
    }
  }

  /** True when the batch left (delivered, or rejected for good); false to retry later. */
  private async sendBatch(): Promise<boolean> {
    const batch = this.queue.take(this.batchSize);
    if (batch.length === 0) return true;
    const outcome = await this.post(batch);
    switch (outcome.kind) {
      case 'delivered':
        if (this.failing) this.options.log.info({ target: this.options.url }, 'OTLP log forwarding resumed');
        this.failing = false;
        this.backoffMs = this.intervalMs;
        return true;
      case 'rejected':
        this.options.log.warn(
          { target: this.options.url, status: outcome.status, lines: batch.length },
          'OTLP endpoint rejected a log batch; dropped',
        );
        return true;
      case 'retry':
        this.queue.unshift(batch);
        if (!this.failing) {
          this.options.log.warn(
            { target: this.options.url, reason: outcome.reason },
            'OTLP log forwarding failed; retrying with backoff',
          );
        } else {
          this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
        }
        this.failing = true;
        return false;
    }
  }

  private async post(
    batch: LogEntry[],
  ): Promise<
    { kind: 'delivered' } | { kind: 'rejected'; status: number } | { kind: 'retry'; reason: string }
  > {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(otlpLogsRequest(batch, this.clock.now())),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { kind: 'delivered' };
      if (response.status === 429 || response.status >= 500) {
        return { kind: 'retry', reason: `status ${response.status}` };
      }
      return { kind: 'rejected', status: response.status };
    } catch (error) {
      return { kind: 'retry', reason: String(error) };
    }
  }
}
