/**
 * Finds a Docker-compatible engine socket, or starts herd's own Podman service. herd's podman
 * lives under the state dir it is given (storage, run root, tmp dir, containers.conf,
 * registries.conf), so it never touches the host's default podman storage; only a run root podman
 * would find too long moves to a folder of herd's own under /run (runRootFor). Its configuration is
 * what Podman 4.3 needs on these machines (src/engines/README.md): runc (crun fails on these hybrid
 * cgroups), cgroupfs, file events, explicit ulimits.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../../common/index.js';
import { EngineError } from '../engine.js';
import { pingSocket } from './ping.js';

export interface EnsureEngineOptions {
  /** herd's own directory for the engine, e.g. `$HERD_HOME/engine`. */
  stateDir: string;
  /** A socket to use if it answers; checked after DOCKER_HOST. */
  socketPath?: string;
  /** Where DOCKER_HOST is read from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long the started service may take to answer `/_ping`. */
  readyTimeoutMs?: number;
}

export interface EngineService {
  socketPath: string;
  /** True when this call started the service; `stop()` then ends it. */
  started: boolean;
  /** What was done, for the log. */
  describe: string;
  /**
   * How to run the `podman` CLI against the same storage as the service (for inspection and
   * tests); absent when an existing socket was used.
   */
  podman?: { args: string[]; env: Record<string, string> };
  stop(): Promise<void>;
}

export const installHint = 'apt-get install podman runc catatonit (scripts/setup.sh installs them)';

export async function ensureEngine(options: EnsureEngineOptions): Promise<EngineService> {
  const env = options.env ?? process.env;
  const dockerHost = env.DOCKER_HOST;
  const candidates: { path: string; why: string }[] = [];
  if (dockerHost?.startsWith('unix://')) {
    candidates.push({ path: dockerHost.slice('unix://'.length), why: 'DOCKER_HOST' });
  }
  if (options.socketPath) candidates.push({ path: options.socketPath, why: 'the given socket' });
  for (const candidate of candidates) {
    if (await pingSocket(candidate.path)) {
      return {
        socketPath: candidate.path,
        started: false,
        describe: `using the engine at ${candidate.path} (${candidate.why})`,
        stop: async () => undefined,
      };
    }
  }
  return startPodmanService(options);
}

async function startPodmanService(options: EnsureEngineOptions): Promise<EngineService> {
  requireTools();
  const dir = options.stateDir;
  const socketPath = join(dir, 'podman.sock');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(join(dir, 'containers.conf'), containersConf);
  await writeAtomic(join(dir, 'registries.conf'), registriesConf);
  const podmanEnv = {
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
  };
  const runRoot = await preparedRunRoot(dir);
  const driver = await storageDriver(dir, runRoot, podmanEnv);
  const args = [
    '--root',
    join(dir, 'storage'),
    '--runroot',
    runRoot,
    '--tmpdir',
    join(dir, 'tmp'),
    '--storage-driver',
    driver,
  ];
  const podman = { args, env: podmanEnv };
  // A service herd started earlier (another herd process) is reused, not doubled.
  if (await pingSocket(socketPath)) {
    return {
      socketPath,
      started: false,
      describe: `using herd's podman service already running at ${socketPath}`,
      podman,
      stop: async () => undefined,
    };
  }

  const logPath = join(dir, 'service.log');
  const log = openSync(logPath, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn('podman', [...args, 'system', 'service', '--time=0', `unix://${socketPath}`], {
      env: { ...process.env, ...podmanEnv },
      stdio: ['ignore', log, log],
      // Its own process group: a Ctrl-C on herd's terminal reaches herd, which still needs the
      // engine to drain and remove its instances, then stops the service itself.
      detached: true,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (driver === 'overlay') await unmountOverlayHome(join(dir, 'storage', 'overlay'));
  };

  const began = Date.now();
  const deadline = began + (options.readyTimeoutMs ?? 10_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  while (!(await pingSocket(socketPath))) {
    if (exitCode !== undefined || Date.now() > deadline) {
      await stop();
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new EngineError(
        'UNREACHABLE',
        `podman system service at ${socketPath} did not answer /_ping ` +
          `${exitCode !== undefined ? `(it exited with code ${exitCode})` : `within ${Date.now() - began} ms`}; ` +
          `its log ${logPath} ends with: ${tail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  // The engine's socket can create and exec into instances: only herd's user may connect.
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    started: true,
    describe:
      `started podman system service (pid ${child.pid}, ${driver} storage under ${dir}) ` +
      `at ${socketPath}, ready in ${Date.now() - began} ms`,
    podman,
    stop,
  };
}

/**
 * The overlay driver bind-mounts its home onto itself (to make it private) and unmounts it only in
 * a shutdown that `podman system service` skips on SIGTERM; left mounted, the state dir cannot be
 * deleted. Once the service has exited, herd does what podman's own shutdown would have done.
 */
async function unmountOverlayHome(home: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  // Field 5 is the mount point, with spaces and the like written as octal escapes (\040).
  const decodeMountPoint = (field = '') =>
    field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(Number.parseInt(octal, 8)));
  const mounted = mountinfo.split('\n').some((line) => decodeMountPoint(line.split(' ')[4]) === home);
  if (mounted) spawnSync('umount', [home], { timeout: 10_000 });
}

/** podman refuses a run root path longer than this (its error: "the specified runroot is longer than 50 characters"). */
const maxRunRootLength = 50;

/**
 * Where podman keeps its run state (locks, mount records) for the state dir `dir`: `<dir>/run`,
 * unless that is longer than podman takes, as under a HERD_HOME deeper than about 40 characters.
 * Then a folder of herd's own under the user's runtime folder, named by a hash of `dir` so that the
 * same state dir always gets the same one (podman records the run root with its storage, and
 * refuses another): `/run/herd/<hash>` for root, `$XDG_RUNTIME_DIR/herd/<hash>` for others.
 * Undefined when the path is too long and there is no such folder.
 */
export function runRootFor(
  dir: string,
  context: { uid: number; runtimeDir: string | undefined },
): { path: string; own: string | undefined } | undefined {
  const inside = join(dir, 'run');
  if (inside.length <= maxRunRootLength) return { path: inside, own: undefined };
  const own =
    context.uid === 0 ? '/run/herd' : context.runtimeDir ? join(context.runtimeDir, 'herd') : undefined;
  if (!own) return undefined;
  const path = join(own, createHash('sha256').update(dir).digest('hex').slice(0, 16));
  return path.length <= maxRunRootLength ? { path, own } : undefined;
}

/**
 * runRootFor, made: herd's own folder is created private and must be a folder of this user's that
 * no one else can write, never a link, before podman is pointed into it.
 */
async function preparedRunRoot(dir: string): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const chosen = runRootFor(dir, { uid, runtimeDir: process.env.XDG_RUNTIME_DIR });
  if (!chosen) {
    throw new EngineError(
      'UNREACHABLE',
      `podman's run root must be at most ${maxRunRootLength} characters, and ${join(dir, 'run')} is longer; ` +
        'set XDG_RUNTIME_DIR, or use a shorter HERD_HOME',
    );
  }
  if (chosen.own) {
    await mkdir(chosen.own, { recursive: true, mode: 0o700 });
    const made = await lstat(chosen.own);
    if (!made.isDirectory() || made.uid !== uid || (made.mode & 0o077) !== 0) {
      throw new EngineError(
        'UNREACHABLE',
        `${chosen.own} must be a folder of uid ${uid}'s that no one else can use, for podman's run root`,
      );
    }
  }
  return chosen.path;
}

/** Init: true needs catatonit, podman's default init binary; runc is the runtime we configure. */
function requireTools(): void {
  const missing = ['podman', 'runc', 'catatonit'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    throw new EngineError('NOT_INSTALLED', `${missing.join(', ')} not found on PATH: ${installHint}`);
  }
}

/**
 * overlay when the kernel allows it here (fast create, shared layers), else vfs. The choice is
 * kept in the state dir: podman refuses to open storage with a driver other than the one that made it.
 */
async function storageDriver(
  dir: string,
  runRoot: string,
  env: Record<string, string>,
): Promise<'overlay' | 'vfs'> {
  const recorded = join(dir, 'storage-driver');
  const previous = (await readFile(recorded, 'utf8').catch(() => '')).trim();
  if (previous === 'overlay' || previous === 'vfs') return previous;
  const probe = spawnSync(
    'podman',
    [
      '--root',
      join(dir, 'storage'),
      '--runroot',
      runRoot,
      '--tmpdir',
      join(dir, 'tmp'),
      '--storage-driver',
      'overlay',
      'info',
      '--format',
      '{{.Store.GraphDriverName}}',
    ],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 },
  );
  const driver = probe.status === 0 && probe.stdout.trim() === 'overlay' ? 'overlay' : 'vfs';
  await writeAtomic(recorded, `${driver}\n`);
  return driver;
}

const containersConf = `# Written by herd for its own podman service (src/engines/README.md).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/**
 * herd's registry endpoint is plain HTTP on loopback, on a port chosen at start; a location of
 * "127.0.0.1" matches "127.0.0.1:<any port>/…". No search registries: images are named in full.
 */
const registriesConf = `# Written by herd: its own /v2/ endpoint on loopback speaks plain HTTP.
unqualified-search-registries = []

[[registry]]
location = "127.0.0.1"
insecure = true
`;
