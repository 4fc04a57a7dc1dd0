/**
 * bench/rollout: a rolling update of examples/hello under steady load. `herd up` runs the fleet
 * (4 instances, maxSurge 25%, maxUnavailable 25%) in its own process; this process holds ~200
 * req/s at the front door, measures a quiet period first, then rolls out a second revision (the same
 * service with another greeting) and keeps measuring until the rollout completes. A watcher polls
 * the fleet API every 100 ms for the instance count and the ready count.
 *
 * It prints failed requests (goal 0), the rollout's duration, p50 and p99 during the rollout next to
 * the quiet period's, and the watcher's extremes next to Kubernetes' bounds (at most size + surge
 * instances, at least size − unavailable ready). Exit 1 when a request failed or a bound broke.
 *
 *   node --import tsx bench/rollout.ts [--rate 200] [--quiet-seconds 10]
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { shortDigest } from '../src/oci/digest.js';
import type { Digest } from '../src/oci/types.js';
import { apiClient, unwrap } from '../src/server/api-client.js';
import { type LoadResult, runLoad } from './load.js';

const execFileAsync = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
};
const rate = Number(option('rate', '200'));
const quietSeconds = Number(option('quiet-seconds', '10'));
const size = 4;
const bounds = { maxInstances: size + 1, minReady: size - 1 };

const home = await mkdtemp(join(tmpdir(), 'herd-bench-rollout-'));
const env = { ...process.env, HERD_HOME: home, HERD_LOG_LEVEL: 'warn' };

async function specDir(name: string, greeting: string): Promise<string> {
  const dir = join(home, name);
  await cp(join(projectRoot, 'examples/hello'), dir, { recursive: true });
  // The spec changes below, so a lock left from an earlier build no longer matches it.
  await rm(join(dir, 'herd.lock'), { force: true });
  const spec = (await readFile(join(dir, 'herd.yaml'), 'utf8'))
    .replace(/GREETING: .*/, `GREETING: ${greeting}`)
    .concat(
      `\nfleet:\n  size: ${size}\n  strategy: { maxSurge: "25%", maxUnavailable: "25%", minReadySeconds: 2 }\n`,
    );
  await writeFile(join(dir, 'herd.yaml'), spec);
  return dir;
}

async function herd(args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args],
    { cwd: projectRoot, env: { ...env, ...extraEnv }, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

function startUp(dir: string): { child: ChildProcess; urls: Promise<{ door: string }> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'up', dir],
    {
      cwd: projectRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let text = '';
  const urls = new Promise<{ door: string }>((done, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const door = text.match(/front door {2}(http:\/\/\S+?)\/?\n/)?.[1];
      if (door) done({ door });
    });
    child.once('exit', (code) => fail(new Error(`herd up exited with ${code}:\n${text}`)));
  });
  return { child, urls };
}

const first = await specDir('v1', 'hello from release one');
const second = await specDir('v2', 'hello from release two');
console.log(
  `bench/rollout: HERD_HOME ${home}; starting herd up (build, gate, sign, release, ${size} instances)`,
);
const up = startUp(first);
try {
  const { door } = await up.urls;
  const built = JSON.parse(await herd(['build', second, '--json'])) as { digest: string };
  const password = (await readFile(join(home, 'keys', 'cosign.password'), 'utf8')).trim();
  await herd(['sign', built.digest], { HERD_KEY_PASSWORD: password });
  await herd(['release', 'hello', built.digest, '--stage', 'candidate']);
  const target = shortDigest(built.digest as Digest);

  console.log(`quiet period: ${quietSeconds} s at ${rate} req/s on ${door}/`);
  const quiet = await runLoad({ url: `${door}/`, rate, durationMs: quietSeconds * 1000 });

  const stopLoad = new AbortController();
  const during = runLoad({ url: `${door}/`, rate, durationMs: 600_000, signal: stopLoad.signal });
  const watched = { maxInstances: 0, minReady: Number.POSITIVE_INFINITY, samples: 0 };
  const began = Date.now();
  // Over the control plane's socket, as the local CLI calls it (no token).
  const api = apiClient({ kind: 'socket', socketPath: join(home, 'control-plane.sock') });
  await unwrap(
    api.fleets[':service'].rollout.$post({
      param: { service: 'hello' },
      json: { digest: built.digest as Digest },
    }),
  );
  let completedAt = 0;
  for (;;) {
    const status = await unwrap(api.fleets[':service'].$get({ param: { service: 'hello' } }));
    const alive = status.instances.filter((i) => i.state === 'running' || i.state === 'created').length;
    watched.maxInstances = Math.max(watched.maxInstances, alive);
    watched.minReady = Math.min(watched.minReady, status.ready);
    watched.samples++;
    if (status.revision === target && status.status === 'complete') {
      completedAt = Date.now();
      break;
    }
    if (status.status === 'failed' || Date.now() - began > 300_000) {
      throw new Error(`the rollout did not complete: ${JSON.stringify(status)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stopLoad.abort();
  const result = await during;
  report(quiet, result, (completedAt - began) / 1000, watched);
  process.exitCode =
    result.failed === 0 && watched.maxInstances <= bounds.maxInstances && watched.minReady >= bounds.minReady
      ? 0
      : 1;
} finally {
  up.child.kill('SIGINT');
  await new Promise((r) => up.child.once('exit', r));
}

function report(
  quiet: LoadResult,
  during: LoadResult,
  seconds: number,
  watched: { maxInstances: number; minReady: number; samples: number },
) {
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  console.log('');
  console.log(`rollout of ${size} instances: ${seconds.toFixed(1)} s`);
  console.log(`failed requests during the rollout: ${during.failed} of ${during.sent} (goal 0)`);
  if (during.failed > 0) console.log(`  why: ${JSON.stringify(during.failures)}`);
  console.log(
    `quiet:   p50 ${quiet.p50Ms.toFixed(2)} ms, p99 ${quiet.p99Ms.toFixed(2)} ms, ${quiet.sent} requests, ${quiet.failed} failed`,
  );
  console.log(`rollout: p50 ${during.p50Ms.toFixed(2)} ms, p99 ${during.p99Ms.toFixed(2)} ms`);
  console.log(
    `ratio during/quiet: p50 ${ratio(during.p50Ms, quiet.p50Ms)}x, p99 ${ratio(during.p99Ms, quiet.p99Ms)}x`,
  );
  console.log(
    `watcher (${watched.samples} samples): at most ${watched.maxInstances} instances (bound ${bounds.maxInstances}), ` +
      `at least ${watched.minReady} ready (bound ${bounds.minReady})`,
  );
}
