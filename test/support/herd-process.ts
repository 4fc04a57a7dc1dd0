/**
 * What the end-to-end fleet tests share: `herd up` or `herd serve` as a child process whose output
 * is watched, the podman CLI pointed at herd's own podman storage (to act from outside, as an
 * operator or an intruder would), clean-up of that podman, polling, and the fixture repository
 * whose one program is the statically compiled probe server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAptRepo, type FixturePackage, type FixtureRepo } from '../fixtures/apt-repo.js';
import { freshHome } from './build-harness.js';
import { projectRoot } from './cli.js';
import { requireTool } from './podman.js';
import { compileProbeServer } from './probe-image.js';
import { herdCliArgs } from './transpiled-cli.js';

export interface RunningHerd {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

export function startHerd(args: string[], home: string, env: Record<string, string> = {}): RunningHerd {
  const child = spawn(process.execPath, [...herdCliArgs(), ...args], {
    cwd: projectRoot,
    env: { ...process.env, HERD_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    child,
    output: () => text,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = setInterval(() => {
          const match = text.match(pattern);
          if (match) {
            clearInterval(poll);
            resolve(match);
          } else if (child.exitCode !== null || Date.now() > deadline) {
            clearInterval(poll);
            reject(new Error(`herd ${args.join(' ')}: no ${pattern} (exit ${child.exitCode}):\n${text}`));
          }
        }, 100);
      }),
  };
}

/** Ctrl-C: `herd up` drains and removes its instances and stops the podman it started. */
export async function stopHerd(up: RunningHerd | undefined): Promise<void> {
  const child = up?.child;
  if (!child || child.exitCode !== null) return;
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
}

export type Podman = (command: string[], options?: { allowFailure?: boolean }) => string;

/** The podman CLI over herd's own podman storage. */
export async function podmanOf(home: string): Promise<Podman> {
  const engine = join(home, 'engine');
  const driver = (await readFile(join(engine, 'storage-driver'), 'utf8')).trim();
  const base = ['--root', join(engine, 'storage'), '--runroot', join(engine, 'run')];
  const args = [...base, '--tmpdir', join(engine, 'tmp'), '--storage-driver', driver];
  return (command, options = {}) => {
    const result = spawnSync('podman', [...args, ...command], {
      encoding: 'utf8',
      env: { ...process.env, CONTAINERS_CONF: join(engine, 'containers.conf') },
      timeout: 30_000,
    });
    if (!options.allowFailure) {
      assert.equal(result.status, 0, `podman ${command.join(' ')}: ${result.stderr}`);
    }
    return result.stdout;
  };
}

/**
 * `herd serve` leaves fleets running by design, and a podman service it adopted (after a kill -9
 * of `herd up`) is not its own to stop: tests that get there clean both up themselves.
 */
export async function stopHerdPodman(home: string): Promise<void> {
  const engine = join(home, 'engine');
  const podman = await podmanOf(home).catch(() => undefined);
  const ids = podman?.(['ps', '-aq', '--filter', 'label=dev.herd.managed-by=herd']).trim();
  if (ids) podman?.(['rm', '-f', '-t', '0', ...ids.split('\n')]);
  spawnSync('pkill', ['-f', `unix://${engine}/podman.sock`]);
  await eventually('the podman service to stop', 10_000, () =>
    spawnSync('pgrep', ['-f', `unix://${engine}/podman.sock`]).status === 0 ? undefined : true,
  );
  const overlay = join(engine, 'storage', 'overlay');
  if ((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${overlay} `)) {
    spawnSync('umount', [overlay]);
  }
}

/** Polls until `probe` gives a value; the timeout names what was awaited and what was seen last. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  lastSeen?: () => string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const seen = lastSeen ? `; last seen: ${lastSeen()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * The fixture repository: base-files (a file in /usr to change) and the static probe server, plus
 * any `packages` a test adds.
 */
export async function probeRepo(extra: { packages?: FixturePackage[] } = {}): Promise<FixtureRepo> {
  requireTool('podman', 'podman');
  requireTool('runc', 'runc');
  return createAptRepo({
    dir: await freshHome('herd-repo-'),
    suites: [{ name: 'test' }],
    packages: [
      {
        name: 'base-files',
        version: '12.4',
        files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
      },
      {
        name: 'probe-server',
        version: '1.0',
        files: [{ path: 'usr/bin/probe-server', content: await compileProbeServer(), mode: 0o755 }],
      },
      ...(extra.packages ?? []),
    ],
  });
}

/**
 * A herd.yaml for the probe server from `probeRepo()`, tuned for tests: health every 500 ms, one
 * second to be available, surge one at a time, short grace and drain.
 */
export function probeSpecText(
  repo: FixtureRepo,
  options: { service?: string; size: number; env: Record<string, string>; run?: string },
): string {
  const env = Object.entries(options.env)
    .map(([name, value]) => `  ${name}: ${JSON.stringify(value)}\n`)
    .join('');
  return `apiVersion: herd/v1
service: ${options.service ?? 'probe'}
image:
  suite: bookworm
  packages: [probe-server]
  repositories:
    - uri: file://${repo.dir}/
      suites: [test]
      keyring: ${repo.keyringPath}
run:
  entrypoint: [/usr/bin/probe-server]${options.run ?? ''}
env:
${env}ports: [8080]
health:
  http: { path: /healthz, port: 8080 }
  interval: 500ms
  timeout: 1s
  retries: 2
fleet:
  size: ${options.size}
  strategy: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 1, progressDeadlineSeconds: 30 }
  health: { failureThreshold: 2 }
  stopGraceSeconds: 2
  drainSeconds: 1
`;
}
