/**
 * bench/front-door: what the front door's extra hop costs. The same steady load (200 req/s by
 * default) goes straight at one backend, then at a FrontDoor over 4 backends; it prints failed
 * requests, p50 and p99 for both, and the front door's latency ratio. The backends and the front
 * door each run in their own process, so none of them shares an event loop with the load.
 *
 *   node --import tsx bench/front-door.ts [--rate 200] [--seconds 5] [--rounds 3]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { FrontDoor } from '../src/fleet/front-door.js';
import { type LoadResult, percentile, runLoad } from './load.js';

const argv = process.argv.slice(2);
function option(name: string, fallback: string): string {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
}

switch (option('role', 'main')) {
  case 'backends':
    await serveBackends(Number(option('count', '4')));
    break;
  case 'front-door':
    await serveFrontDoor(option('backends', ''));
    break;
  default:
    await main(Number(option('rate', '200')), Number(option('seconds', '5')), Number(option('rounds', '3')));
}

/** Plain backends, like examples/hello: a short text answer. Prints their ports as one JSON line. */
async function serveBackends(count: number): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'text/plain');
      res.end(`hello from backend ${i}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  console.log(JSON.stringify({ ports }));
}

async function serveFrontDoor(backends: string): Promise<void> {
  const door = await FrontDoor.open('bench', { port: 0 });
  door.setBackends(
    backends.split(',').map((pair) => {
      const [host = '127.0.0.1', port = '0'] = pair.split(':');
      return { host, port: Number(port) };
    }),
  );
  console.log(JSON.stringify({ port: door.port }));
}

/** Starts this file in another role and waits for its one-line JSON report. */
async function startRole(args: string[]): Promise<{ child: ChildProcess; report: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return { child, report: JSON.parse(line) as Record<string, unknown> };
  throw new Error(`bench role ${args.join(' ')} exited before reporting`);
}

/** Several runs against one target as one: counts summed, percentiles over all latencies. */
function pool(results: LoadResult[]): LoadResult {
  const latencies = results.flatMap((r) => r.latencies);
  const sorted = [...latencies].sort((a, b) => a - b);
  const failures: Record<string, number> = {};
  for (const r of results) {
    for (const [reason, count] of Object.entries(r.failures))
      failures[reason] = (failures[reason] ?? 0) + count;
  }
  return {
    sent: results.reduce((sum, r) => sum + r.sent, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    failures,
    reconnects: results.reduce((sum, r) => sum + r.reconnects, 0),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    latencies,
    rate: results.reduce((sum, r) => sum + r.rate, 0) / results.length,
  };
}

function row(label: string, result: LoadResult): string {
  return [
    label.padEnd(24),
    String(result.sent).padStart(7),
    String(result.failed).padStart(7),
    result.rate.toFixed(0).padStart(7),
    result.p50Ms.toFixed(2).padStart(9),
    result.p99Ms.toFixed(2).padStart(9),
  ].join('');
}

async function main(rate: number, seconds: number, rounds: number): Promise<void> {
  const backends = await startRole(['--role', 'backends', '--count', '4']);
  const children = [backends.child];
  try {
    const ports = backends.report.ports as number[];
    const door = await startRole([
      '--role',
      'front-door',
      '--backends',
      ports.map((p) => `127.0.0.1:${p}`).join(','),
    ]);
    children.push(door.child);
    const direct = `http://127.0.0.1:${ports[0]}/`;
    const viaDoor = `http://127.0.0.1:${door.report.port as number}/`;
    const durationMs = seconds * 1000;

    console.log(
      `front door bench: ${rate} req/s, ${rounds} interleaved rounds of ${seconds} s per target, after a 2 s warm-up`,
    );
    await runLoad({ url: direct, rate, durationMs: 2000 });
    await runLoad({ url: viaDoor, rate, durationMs: 2000 });
    const straightRounds: LoadResult[] = [];
    const frontedRounds: LoadResult[] = [];
    // Interleaved, so a noisy neighbour on the machine hurts both sides alike.
    for (let i = 0; i < rounds; i++) {
      straightRounds.push(await runLoad({ url: direct, rate, durationMs }));
      frontedRounds.push(await runLoad({ url: viaDoor, rate, durationMs }));
    }
    const straight = pool(straightRounds);
    const fronted = pool(frontedRounds);

    console.log(
      `${'target'.padEnd(24)}${'sent'.padStart(7)}${'failed'.padStart(7)}${'req/s'.padStart(7)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`,
    );
    console.log(row('one backend, direct', straight));
    console.log(row('front door, 4 backends', fronted));
    console.log(
      `latency ratio front door / direct: p50 ${(fronted.p50Ms / straight.p50Ms).toFixed(2)}x, p99 ${(fronted.p99Ms / straight.p99Ms).toFixed(2)}x`,
    );
    for (const [label, result] of [
      ['direct', straight],
      ['front door', fronted],
    ] as const) {
      if (result.failed > 0) console.log(`${label} failures: ${JSON.stringify(result.failures)}`);
    }
    process.exitCode = straight.failed + fronted.failed === 0 ? 0 : 1;
  } finally {
    for (const child of children) child.kill();
  }
}
