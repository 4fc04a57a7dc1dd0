/**
 * bench/startup: how long `herd` takes to start, against `node -e 0` in the same run (issue 15:
 * `herd --version` within 150 ms; a compiled Node CLI such as npm starts in about 0.1 s).
 *
 * Each run is a whole process, timed from spawn to exit, so what Node itself costs is in every
 * figure; `node -e 0` is that floor. The variants take turns within each round (the order rotates
 * from round to round), so a busy moment of a shared machine falls on all of them alike, and one
 * round before the timed ones warms the page cache and the compile caches. Timed:
 *
 * - `node -e 0`, the floor;
 * - `npm --version`, the compiled Node CLI the issue names, when npm is installed beside node;
 * - the compiled herd (dist/cli/main.js, what `bin` names): `--version`, `--help`, and a real
 *   command, `herd init` into a new folder (it loads its command module and HERD_HOME's checks);
 * - `node --import tsx src/cli/main.ts --version`, the sources compiled at run time, as the tests
 *   and `npm run herd` run them.
 *
 * It prints each one's median and 90th percentile, and the median's ratio to `node -e 0`'s. Exit 1
 * when a run fails or prints something else than it should, or when `herd --version` misses the
 * goal. `npm run bench:startup` builds dist/ first.
 *
 *   node --import tsx bench/startup.ts [--runs 20] [--entry dist/cli/main.js]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeArgsOf } from './support/compiled-cli.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, entry: { type: 'string' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs: expected a whole number above 0, got ${values.runs}`);
const entry = resolve(values.entry ?? join(root, 'dist', 'cli', 'main.js'));
if (!existsSync(entry)) throw new Error(`no compiled herd at ${entry}: run npm run build first`);
/** node's arguments for the compiled herd as its #! line gives them. */
const herdArgs = nodeArgsOf(entry);
const goalMs = 150;
const version: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

interface Variant {
  label: string;
  command: string;
  args: (round: number) => string[];
  /** What its standard output must hold, so a fast failure is not taken for a fast start. */
  expect: (stdout: string) => boolean;
}

const scratch = await mkdtemp(join(tmpdir(), 'herd-bench-startup-'));
const env = { ...process.env, HERD_HOME: join(scratch, 'home') };
const node = process.execPath;
const npmCli = join(dirname(node), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

const variants: Variant[] = [
  { label: 'node -e 0', command: node, args: () => ['-e', '0'], expect: (out) => out === '' },
  ...(existsSync(npmCli)
    ? [
        {
          label: 'npm --version',
          command: node,
          args: () => [npmCli, '--version'],
          expect: (out: string) => /^\d/.test(out),
        },
      ]
    : []),
  {
    label: 'herd --version',
    command: node,
    args: () => [...herdArgs, '--version'],
    expect: (out) => out.trim() === version,
  },
  {
    label: 'herd --help',
    command: node,
    args: () => [...herdArgs, '--help'],
    expect: (out) => out.startsWith('Usage: herd'),
  },
  {
    label: 'herd init <new dir>',
    command: node,
    args: (round) => [...herdArgs, 'init', join(scratch, `service-${round}`)],
    expect: (out) => out.startsWith('wrote '),
  },
  {
    label: 'tsx: herd --version',
    command: node,
    args: () => ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), '--version'],
    expect: (out) => out.trim() === version,
  },
];

interface Sample {
  /** Spawn to exit, as a user waits for it. */
  wallMs: number;
  /** User + system CPU time, which a busy machine's waiting does not add to (10 ms steps). */
  cpuMs: number;
  maxRssKb: number;
}

/** GNU time reports the child's CPU time and peak memory, from the kernel's own accounting. */
const gnuTime = '/usr/bin/time';
if (!existsSync(gnuTime))
  throw new Error(`${gnuTime} is missing: install the time package (scripts/setup.sh does)`);

function timeOnce(variant: Variant, round: number): Sample {
  const started = performance.now();
  const result = spawnSync(
    gnuTime,
    ['-f', 'herd-bench-rusage %U %S %M', variant.command, ...variant.args(round)],
    { cwd: root, env, encoding: 'utf8' },
  );
  const wallMs = performance.now() - started;
  const rusage = /herd-bench-rusage (\S+) (\S+) (\d+)\s*$/.exec(result.stderr);
  if (result.status !== 0 || !variant.expect(result.stdout) || !rusage) {
    throw new Error(
      `${variant.label} failed: exit ${result.status}, stdout ${JSON.stringify(result.stdout.slice(0, 200))}, stderr ${result.stderr.slice(0, 500)}`,
    );
  }
  return {
    wallMs,
    cpuMs: (Number(rusage[1]) + Number(rusage[2])) * 1000,
    maxRssKb: Number(rusage[3]),
  };
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const samples = new Map<Variant, Sample[]>(variants.map((variant) => [variant, []]));
try {
  for (let round = -1; round < runs; round++) {
    // Round -1 warms up and is not counted.
    for (let turn = 0; turn < variants.length; turn++) {
      const variant = variants[(turn + Math.max(round, 0)) % variants.length]!;
      const sample = timeOnce(variant, round + 1);
      if (round >= 0) samples.get(variant)!.push(sample);
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const of = (variant: Variant, field: keyof Sample) =>
  samples
    .get(variant)!
    .map((sample) => sample[field])
    .sort((a, b) => a - b);
const median = (variant: Variant, field: keyof Sample) => percentile(of(variant, field), 0.5);
const floor = variants[0]!;
console.log(
  `startup, ${runs} runs each, interleaved; Node ${process.version}; load average ${loadAverage()}`,
);
console.log(
  `${'variant'.padEnd(22)}${'wall median'.padStart(13)}${'p90'.padStart(9)}${'× node -e 0'.padStart(13)}${'cpu median'.padStart(12)}${'× node -e 0'.padStart(13)}${'max RSS'.padStart(10)}`,
);
for (const variant of variants) {
  const wall = median(variant, 'wallMs');
  const cpu = median(variant, 'cpuMs');
  console.log(
    [
      variant.label.padEnd(22),
      `${wall.toFixed(0)} ms`.padStart(13),
      `${percentile(of(variant, 'wallMs'), 0.9).toFixed(0)} ms`.padStart(9),
      `${(wall / median(floor, 'wallMs')).toFixed(2)}×`.padStart(13),
      `${cpu.toFixed(0)} ms`.padStart(12),
      `${(cpu / Math.max(median(floor, 'cpuMs'), 10)).toFixed(2)}×`.padStart(13),
      `${(median(variant, 'maxRssKb') / 1024).toFixed(0)} MB`.padStart(10),
    ].join(''),
  );
}
const herd = variants.find((variant) => variant.label === 'herd --version')!;
const herdMs = median(herd, 'wallMs');
const met = herdMs <= goalMs;
console.log(
  `herd --version: ${herdMs.toFixed(0)} ms, ${(herdMs - median(floor, 'wallMs')).toFixed(0)} ms over node -e 0 (goal ≤ ${goalMs} ms): ${met ? 'met' : 'missed'}`,
);
if (!met) process.exitCode = 1;

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
