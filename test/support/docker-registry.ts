/**
 * A private Debian `docker-registry` (distribution 2.8) for tests: its own port on 127.0.0.1,
 * storage in a temp folder, optionally htpasswd (bcrypt) basic auth. Distribution 2.8 accepts
 * htpasswd auth over plain http (it only logs a warning), which is what the basic-auth tests use.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface TestRegistry {
  /** `127.0.0.1:<port>`, the registry part of image references. */
  host: string;
  url: string;
  stop(): Promise<void>;
}

export { freePort };

export async function startDockerRegistry(
  options: { htpasswd?: { username: string; password: string } } = {},
): Promise<TestRegistry> {
  if (spawnSync('sh', ['-c', 'command -v docker-registry']).status !== 0) {
    throw new Error('docker-registry not found: apt-get install docker-registry');
  }
  const dir = await mkdtemp(join(tmpdir(), 'herd-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
  ];
  if (options.htpasswd) {
    const made = spawnSync('htpasswd', ['-Bbn', options.htpasswd.username, options.htpasswd.password], {
      encoding: 'utf8',
    });
    if (made.status !== 0) throw new Error(`htpasswd failed (apt-get install apache2-utils): ${made.stderr}`);
    await writeFile(join(dir, 'htpasswd'), made.stdout);
    lines.push('auth:', '  htpasswd:', '    realm: test', `    path: ${join(dir, 'htpasswd')}`);
  }
  await writeFile(join(dir, 'config.yml'), `${lines.join('\n')}\n`);

  // Its log goes to a file, not a pipe: a test that runs the CLI with spawnSync blocks this event
  // loop, a pipe would fill with the registry's error lines (one per 404), and the registry would
  // stall mid-request waiting to write.
  const logPath = join(dir, 'registry.log');
  const log = await open(logPath, 'w');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', log.fd],
  });
  await log.close();
  const stderr = () => readFileSync(logPath, 'utf8').slice(-4000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const url = `http://${host}`;
  try {
    await waitForRegistry({ url, child, stderr });
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, url, stop };
}

/** Polls GET /v2/ until the registry answers 200 (anonymous) or 401 (htpasswd). */
async function waitForRegistry(options: { url: string; child: ChildProcess; stderr: () => string }) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (options.child.exitCode !== null) {
      throw new Error(`docker-registry exited with ${options.child.exitCode}: ${options.stderr()}`);
    }
    try {
      const response = await fetch(`${options.url}/v2/`);
      await response.body?.cancel();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer on ${options.url}/v2/ within 15 s: ${options.stderr()}`);
}
