/**
 * bench/watch: what watching a fleet costs the control plane. `herd up` runs examples/hello as a
 * fleet of 4 (writable /tmp, the spec's default) in its own process and HERD_HOME. Once the fleet
 * has settled, this process reads the CPU time (utime + stime in /proc/<pid>/stat) of the control
 * plane (`herd up`'s own process) over a window, and in the same window of its peers: the podman
 * service herd started, which answers the monitor's calls, and the instances' conmon processes.
 * Then it copies a 50 MB data file (mode 0644: data in a writable path is no drift) into each
 * instance's /tmp with `podman cp`, lets the monitor take its first look, checks that no incident
 * was opened and no instance replaced, and measures again.
 *
 * It prints each process's CPU as a percentage of one core, the control plane's as a ratio to its
 * peers, and the load average beside each window (the machine may be shared). Goal: the control
 * plane under 5% of a core in both windows. Exit 1 when it is not, or when the data caused an
 * incident or a replacement.
 *
 *   node --import tsx bench/watch.ts [--window-seconds 30] [--megabytes 50] [--keep]
 *
 * `--keep` leaves the HERD_HOME it prints (some 350 MB) in place.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unwrap } from '../src/server/api-client.js';
import { localApi } from '../test/support/control-plane-api.js';
import { settled } from '../test/support/drift-drops.js';
import { podmanOf, startHerd, stopHerd } from '../test/support/herd-process.js';

const projectRoot = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
};
const windowSeconds = Number(option('window-seconds', '30'));
const megabytes = Number(option('megabytes', '50'));
const size = 4;
const goalPercent = 5;
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Seconds of CPU a process has used so far, user and system: /proc/<pid>/stat fields 14 and 15. */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; the fields after it do not.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

async function loadAverage(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

interface Window {
  /** % of one core, by name. */
  percent: Record<string, number>;
  loadBefore: string;
  loadAfter: string;
}

/** CPU of each group of processes over the window, as % of one core (a group's processes summed). */
async function measure(groups: Record<string, number[]>): Promise<Window> {
  const loadBefore = await loadAverage();
  const began = process.hrtime.bigint();
  const before = await Promise.all(Object.values(groups).map((pids) => Promise.all(pids.map(cpuSeconds))));
  await new Promise((done) => setTimeout(done, windowSeconds * 1000));
  const after = await Promise.all(Object.values(groups).map((pids) => Promise.all(pids.map(cpuSeconds))));
  const elapsed = Number(process.hrtime.bigint() - began) / 1e9;
  const percent: Record<string, number> = {};
  for (const [index, name] of Object.keys(groups).entries()) {
    const used = (after[index] ?? []).reduce((sum, one, at) => sum + one - (before[index]?.[at] ?? 0), 0);
    percent[name] = (100 * used) / elapsed;
  }
  return { percent, loadBefore, loadAfter: await loadAverage() };
}

function describe(label: string, window: Window): string[] {
  const { percent } = window;
  const plane = percent['control plane'] ?? Number.NaN;
  const lines = [`${label} (load average ${window.loadBefore} → ${window.loadAfter}):`];
  for (const [name, value] of Object.entries(percent)) {
    lines.push(`  ${name.padEnd(30)} ${value.toFixed(2).padStart(6)}% of a core`);
  }
  for (const [name, value] of Object.entries(percent)) {
    if (name === 'control plane') continue;
    const ratio = value > 0 ? `${(plane / value).toFixed(1)}×` : 'n/a (the peer used no CPU)';
    lines.push(`  control plane / ${name}: ${ratio}`);
  }
  return lines;
}

const home = await mkdtemp(join(tmpdir(), 'herd-bench-watch-cost-'));
const dir = join(home, 'hello-spec');
await cp(join(projectRoot, 'examples/hello'), dir, { recursive: true });
// The spec changes below, so a lock left from an earlier build no longer matches it.
await rm(join(dir, 'herd.lock'), { force: true });
await writeFile(
  join(dir, 'herd.yaml'),
  `${await readFile(join(dir, 'herd.yaml'), 'utf8')}\nfleet:\n  size: ${size}\n`,
);

console.log(
  `bench/watch: HERD_HOME ${home}; starting herd up (build, gate, sign, release, ${size} instances)`,
);
const up = startHerd(['up', dir], home, { HERD_LOG_LEVEL: 'warn' });
try {
  await up.waitFor(/front door {2}(http:\/\/\S+?)\/?\n/, 1_800_000);
  const api = localApi(home);
  const podman = await podmanOf(home);
  await settled(api, 'hello', size, 120_000);
  // Start-up work (module loading, the rollout's last checks) is not the watch's steady cost.
  await new Promise((done) => setTimeout(done, 10_000));

  const ids = podman(['ps', '-q', '--no-trunc', '--filter', 'label=dev.herd.service=hello'])
    .trim()
    .split('\n')
    .filter(Boolean);
  const inspect = (format: string) =>
    podman(['inspect', '--format', format, ...ids])
      .trim()
      .split('\n')
      .map(Number);
  const engineSocket = `unix://${join(home, 'engine')}/podman.sock`;
  const servicePid = Number(
    spawnSync('pgrep', ['-f', '-o', engineSocket], { encoding: 'utf8' }).stdout.trim().split('\n')[0],
  );
  if (!up.child.pid || !servicePid) throw new Error(`no control plane or podman service pid (${servicePid})`);
  const groups = {
    'control plane': [up.child.pid],
    'podman service': [servicePid],
    [`conmon (${ids.length} instances)`]: inspect('{{.State.ConmonPid}}'),
  };
  const incidentsBefore = (await unwrap(api.incidents.$get({ query: {} }))).length;

  console.log(`window 1: ${size} instances idle, ${windowSeconds} s`);
  const idle = await measure(groups);

  const data = join(home, 'data.bin');
  await writeFile(data, Buffer.alloc(megabytes * 1024 * 1024, 0x61), { mode: 0o644 });
  for (const id of ids) podman(['cp', data, `${id}:/tmp/data.bin`]);
  const sizes = await Promise.all(
    inspect('{{.State.Pid}}').map(async (pid) => (await stat(`/proc/${pid}/root/tmp/data.bin`)).size),
  );
  console.log(`copied ${megabytes} MB of data into each instance's /tmp (sizes seen: ${sizes.join(', ')})`);
  // The first look at each new file, then quiet.
  await new Promise((done) => setTimeout(done, 5_000));

  console.log(`window 2: ${size} instances, each with ${megabytes} MB in /tmp, ${windowSeconds} s`);
  const loaded = await measure(groups);
  const incidents = (await unwrap(api.incidents.$get({ query: {} }))).length - incidentsBefore;
  const still = podman(['ps', '-q', '--no-trunc', '--filter', 'label=dev.herd.service=hello'])
    .trim()
    .split('\n')
    .filter(Boolean);
  const replaced = ids.filter((id) => !still.includes(id)).length;

  console.log('');
  for (const line of describe('idle', idle)) console.log(line);
  for (const line of describe(`${megabytes} MB in each /tmp`, loaded)) console.log(line);
  console.log(`incidents from the data: ${incidents}; instances replaced: ${replaced} (goal 0 and 0)`);
  console.log(`goal: the control plane under ${goalPercent}% of a core in both windows`);
  const worst = Math.max(idle.percent['control plane'] ?? 100, loaded.percent['control plane'] ?? 100);
  process.exitCode = worst < goalPercent && incidents === 0 && replaced === 0 ? 0 : 1;
} finally {
  await stopHerd(up);
  if (argv.includes('--keep')) console.log(`kept: ${home}`);
  else await rm(home, { recursive: true, force: true });
}
