/**
 * A small open-loop HTTP load generator, in place of autocannon or wrk (not installed here). It
 * sends at a fixed rate whatever the answers' pace, and measures each latency from the moment the
 * request was due, so a stall shows in p99 instead of slowing the load (no coordinated omission).
 *
 *   const result = await runLoad({ url: 'http://127.0.0.1:8080/', rate: 200, durationMs: 10_000 });
 */
import { Agent, request } from 'node:http';

export interface LoadOptions {
  url: string;
  /** Requests per second, held steady. */
  rate: number;
  durationMs: number;
  /** Stops sending early; requests already sent still finish. */
  signal?: AbortSignal;
  /** A request with no complete answer after this counts as failed. Default 10 s. */
  timeoutMs?: number;
}

export interface LoadResult {
  sent: number;
  /** Network errors, timeouts and answers outside 2xx/3xx. */
  failed: number;
  /** Why requests failed: an error code or `status 503`, with counts. */
  failures: Record<string, number>;
  /** Requests sent again once because the idle kept-alive connection they went out on was closed. */
  reconnects: number;
  /** Of the successful requests, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Every successful request's latency in milliseconds, in completion order. */
  latencies: number[];
  /** Requests per second actually sent. */
  rate: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = 1000 / options.rate;
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let failed = 0;
  let reconnects = 0;
  const fail = (reason: string) => {
    failed++;
    failures[reason] = (failures[reason] ?? 0) + 1;
  };

  const fire = (dueAt: number) => {
    const done = new Promise<void>((resolve) => {
      const send = (retried: boolean) => {
        const req = request(url, { agent, timeout: timeoutMs }, (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 400) latencies.push(performance.now() - dueAt);
            else fail(`status ${status}`);
            resolve();
          });
          res.on('error', (error: NodeJS.ErrnoException) => {
            fail(error.code ?? 'response error');
            resolve();
          });
        });
        req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
        req.on('error', (error: NodeJS.ErrnoException) => {
          // A kept-alive connection the server closed as idle just as this request went out on it:
          // nothing reached the server, and a client sends it again on a new connection, as browsers
          // do and Node's documentation of `request.reusedSocket` advises. Counted if it fails again.
          if (req.reusedSocket && error.code === 'ECONNRESET' && !retried) {
            reconnects++;
            send(true);
            return;
          }
          fail(error.code ?? error.message);
          resolve();
        });
        req.end();
      };
      send(false);
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  };

  const start = performance.now();
  const end = start + options.durationMs;
  while (!options.signal?.aborted) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.min(
      Math.floor((now - start) / intervalMs) + 1,
      Math.ceil(options.durationMs / intervalMs),
    );
    for (; sent < due; sent++) fire(start + sent * intervalMs);
    const nextAt = start + sent * intervalMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextAt - performance.now())));
  }
  const elapsedMs = performance.now() - start;
  await Promise.all(pending);
  agent.destroy();

  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    sent,
    failed,
    failures,
    reconnects,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    latencies,
    rate: sent / (elapsedMs / 1000),
  };
}

/** Nearest-rank percentile of ascending values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
