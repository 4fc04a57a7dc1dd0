/**
 * A private podman for tests: its own storage root, run root and containers.conf under a temp
 * folder, so tests never touch the host's images or containers. Configured as these machines need
 * (src/engines/README.md): runc, cgroupfs, file events, explicit ulimits.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPodman {
  run(args: string[]): { status: number; stdout: string; stderr: string };
  dir: string;
}

export function requireTool(name: string, install: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  if (!found) throw new Error(`${name} is not installed: run scripts/setup.sh or apt-get install ${install}`);
}

export async function testPodman(): Promise<TestPodman> {
  requireTool('podman', 'podman');
  requireTool('runc', 'runc');
  const dir = await mkdtemp(join(tmpdir(), 'herd-podman-'));
  const conf = join(dir, 'containers.conf');
  await writeFile(
    conf,
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  return {
    dir,
    run(args) {
      const result = spawnSync('podman', [...base, ...args], {
        encoding: 'utf8',
        env: { ...process.env, CONTAINERS_CONF: conf },
        timeout: 120_000,
      });
      return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
    },
  };
}
