/**
 * bench/api: what the fleet API's guard costs. `herd serve` runs in its own process on loopback;
 * autocannon holds a fixed rate (1,000 req/s by default) of authenticated reads (a viewer token,
 * `GET /api/v1/journal?limit=20`: bearer token check, role, query validation, a SQLite read, JSON)
 * for ~10 s, after a warm-up. The peer, in the same run and in its own process, is a bare
 * node:http server answering the same JSON bytes with no routing, auth or database. It prints the
 * achieved rate, p50 and p99 of both and herd's ratio to the peer; the goal is p99 under 50 ms.
 * Exit 1 when a request failed or the goal was missed.
 *
 *   node --import tsx bench/api.ts [--rate 1000] [--seconds 10] [--connections 10]
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

const projectRoot = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
};
const path = '/api/v1/journal?limit=20';
const goalP99Ms = 50;

if (option('role', 'main') === 'peer') await servePeer(option('body', ''));
else
  await main(
    Number(option('rate', '1000')),
    Number(option('seconds', '10')),
    Number(option('connections', '10')),
  );

/** The peer: node:http and nothing else, answering `body` (base64) as JSON. Prints its port. */
async function servePeer(body: string): Promise<void> {
  const bytes = Buffer.from(body, 'base64');
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    response.end(bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
}

interface Measured {
  label: string;
  rate: number;
  p50: number;
  p99: number;
  sent: number;
  failed: number;
}

async function main(rate: number, seconds: number, connections: number): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'herd-bench-api-'));
  const env = { ...process.env, HERD_HOME: home, HERD_LOG_LEVEL: 'warn' };
  const children: ChildProcess[] = [];
  try {
    const herd = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args],
        {
          cwd: projectRoot,
          env,
        },
      );
    const token = (await herd(['token', 'create', '--role', 'viewer', '--name', 'bench'])).stdout.trim();
    const serve = spawn(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'serve', '--port', '0'],
      { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(serve);
    const herdUrl = await firstMatch(serve, /fleet API at (http:\/\/[^/\s]+)/);
    const headers = { authorization: `Bearer ${token}` };
    const answer = await fetch(`${herdUrl}${path}`, { headers });
    if (!answer.ok) throw new Error(`herd serve answered ${answer.status}: ${await answer.text()}`);
    const body = Buffer.from(await answer.arrayBuffer());

    const peer = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--role', 'peer', '--body', body.toString('base64')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(peer);
    const peerPort = (JSON.parse(await firstMatch(peer, /^(\{.*\})$/m)) as { port: number }).port;
    const peerUrl = `http://127.0.0.1:${peerPort}`;

    console.log(
      `api bench: GET ${path} (${body.length} bytes) at ${rate} req/s over ${connections} connections, ${seconds} s each, after a 2 s warm-up`,
    );
    await load({ url: `${herdUrl}${path}`, headers, rate, seconds: 2, connections });
    await load({ url: `${peerUrl}${path}`, headers, rate, seconds: 2, connections });
    const guarded = {
      label: 'herd serve, viewer token',
      ...(await load({ url: `${herdUrl}${path}`, headers, rate, seconds, connections })),
    };
    const bare = {
      label: 'node:http, same JSON',
      ...(await load({ url: `${peerUrl}${path}`, headers, rate, seconds, connections })),
    };

    console.log(
      `${'target'.padEnd(28)}${'sent'.padStart(8)}${'failed'.padStart(8)}${'req/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`,
    );
    for (const m of [guarded, bare]) console.log(row(m));
    console.log(
      `ratio herd / node:http: p50 ${ratio(guarded.p50, bare.p50)}, p99 ${ratio(guarded.p99, bare.p99)}`,
    );
    const met = guarded.p99 < goalP99Ms && guarded.rate >= rate * 0.95;
    console.log(
      `goal: ${rate} authenticated reads/s with p99 < ${goalP99Ms} ms: ${met ? 'met' : 'missed'} (${guarded.rate.toFixed(0)} req/s, p99 ${guarded.p99.toFixed(2)} ms)`,
    );
    process.exitCode = met && guarded.failed === 0 && bare.failed === 0 ? 0 : 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode === null ? new Promise((done) => child.once('exit', done)) : undefined,
      ),
    );
    await rm(home, { recursive: true, force: true });
  }
}

async function load(options: {
  url: string;
  headers: Record<string, string>;
  rate: number;
  seconds: number;
  connections: number;
}): Promise<Omit<Measured, 'label'>> {
  const result = await autocannon({
    url: options.url,
    headers: options.headers,
    connections: options.connections,
    // A fixed rate for the whole run, whatever the answers' pace: the latency is the answer's.
    overallRate: options.rate,
    duration: options.seconds,
  });
  return {
    rate: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    sent: result.requests.sent,
    failed: result.errors + result.timeouts + result.non2xx,
  };
}

function row(m: Measured): string {
  return [
    m.label.padEnd(28),
    String(m.sent).padStart(8),
    String(m.failed).padStart(8),
    m.rate.toFixed(0).padStart(8),
    m.p50.toFixed(2).padStart(9),
    m.p99.toFixed(2).padStart(9),
  ].join('');
}

/** The first capture of `pattern` in a child's standard output. */
async function firstMatch(child: ChildProcess, pattern: RegExp): Promise<string> {
  let seen = '';
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    seen += `${line}\n`;
    const match = pattern.exec(line)?.[1];
    if (match) {
      // Keep draining what it prints later, so a full pipe never stalls it.
      child.stdout?.resume();
      return match;
    }
  }
  throw new Error(`exited before printing ${pattern}:\n${seen}`);
}

/** autocannon reports whole milliseconds: a peer under 1 ms has no meaningful ratio. */
function ratio(herd: number, peer: number): string {
  return peer > 0 ? `${(herd / peer).toFixed(2)}x` : `n/a (peer under 1 ms, herd ${herd} ms)`;
}
