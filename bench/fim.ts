/**
 * bench/fim: `herd fim check` against `aide --check` on the same tree, in the same run, with the
 * same planted changes (issue 15: `--full` at least 10× faster than AIDE, the fast mode 20×; AIDE
 * takes about 85 s on /usr here).
 *
 * /usr itself must not be modified, so by default the bench checks a copy: `cp -a` of /usr into
 * the scratch directory (5.2 GB, 139k entries; made once, reused by later runs). The copy has the
 * same files, sizes and layout, so it costs both tools what /usr costs; it sits in the page cache
 * after the two `--init` runs, as /usr would after any previous run. `--in-place` plants the
 * changes straight into `--dir` instead, for a tree you own.
 *
 * Planted under <tree>/herd-bench-plant/ after both baselines: one file added, one removed, one
 * rewritten with the same size and its mtime put back (only a hash finds it), one chmod, one
 * symlink retargeted. Their directory's mtime moves too, which both tools report.
 *
 * Timed, each a whole process under /usr/bin/time (wall clock, user + system CPU, peak RSS):
 * `herd fim check --full` (every file hashed: the like-for-like comparison with AIDE, which hashes
 * everything), `aide --check`, and herd's default fast mode (files whose size, mtime, ctime and
 * inode are unchanged keep their recorded hash). AIDE's rule is herd's attributes:
 * p+u+g+s+m+l+sha256+ftype+xattrs, and it runs with its default of one worker thread unless
 * `--aide-workers`. What is cached is the same for all three: each check runs after both `--init`
 * runs have read the whole tree, so its metadata and contents are in the page cache; nothing of one
 * check is kept for the next but the baselines. herd is the compiled CLI (`scripts/build.ts` into
 * dist/bench-fim, as `npm run build` makes dist/cli), what an installed herd runs; `--tsx` runs
 * src/cli/main.ts through tsx instead. `--rounds N` repeats the three checks N times, interleaved,
 * and prints each round's ratios (the machine may be shared: ratios of one round are what compare).
 *
 *   node --import tsx bench/fim.ts [--dir /usr] [--scratch /var/tmp/herd-bench-fim] [--in-place]
 *                                  [--aide-workers N] [--rounds N] [--tsx]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const dir = resolve(argument('--dir') ?? '/usr');
const scratch = resolve(argument('--scratch') ?? '/var/tmp/herd-bench-fim');
const inPlace = process.argv.includes('--in-place');
const aideWorkers = argument('--aide-workers');
const rounds = Number(argument('--rounds') ?? '1');
const viaTsx = process.argv.includes('--tsx');
const goal = { full: 10, fast: 20 };

interface Timed {
  status: number | null;
  out: string;
  err: string;
  seconds: number;
  /** User + system CPU seconds, and peak resident memory in MB, as /usr/bin/time reports them. */
  cpu: number;
  rssMb: number;
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const report = join(scratch, 'time.out');
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S %M', command, ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const seconds = (performance.now() - started) / 1000;
  const [user, system, rssKb] = readFileSync(report, 'utf8')
    .trim()
    .split('\n')
    .at(-1)!
    .split(' ')
    .map(Number);
  return {
    status: result.status,
    out: result.stdout,
    err: result.stderr,
    seconds,
    cpu: user! + system!,
    rssMb: rssKb! / 1024,
  };
}

function describeRun(run: Timed, found: Findings): string {
  return `${run.seconds.toFixed(2)} s, cpu ${run.cpu.toFixed(2)} s, max rss ${run.rssMb.toFixed(0)} MB (exit ${run.status}: ${describeFindings(found)})`;
}

interface Findings {
  added: Set<string>;
  removed: Set<string>;
  changed: Set<string>;
}

/** herd's report lines: `added    /path`, `removed  /path`, `changed  /path: attributes`. */
function herdFindings(out: string): Findings {
  const findings: Findings = { added: new Set(), removed: new Set(), changed: new Set() };
  for (const line of out.split('\n')) {
    const match = /^(added|removed|changed) +(\/.*?)(?:: .*)?$/.exec(line);
    if (match) findings[match[1] as keyof Findings].add(match[2]!);
  }
  return findings;
}

/** AIDE's plain report: `<flags>: /path` lines under "Added/Removed/Changed entries:" headings. */
function aideFindings(out: string): Findings {
  const findings: Findings = { added: new Set(), removed: new Set(), changed: new Set() };
  let section: keyof Findings | undefined;
  for (const line of out.split('\n')) {
    const heading = /^(Added|Removed|Changed) entries:$/.exec(line);
    if (heading) section = heading[1]!.toLowerCase() as keyof Findings;
    else if (/^(Detailed information|The attributes)/.test(line)) section = undefined;
    else if (section) {
      const match = /^\S+ ?[^:]*: (\/.*)$/.exec(line);
      if (match) findings[section].add(match[1]!);
    }
  }
  return findings;
}

function sameFindings(a: Findings, b: Findings): boolean {
  const same = (x: Set<string>, y: Set<string>) => x.size === y.size && [...x].every((p) => y.has(p));
  return same(a.added, b.added) && same(a.removed, b.removed) && same(a.changed, b.changed);
}

function describeFindings(f: Findings): string {
  return `${f.added.size} added, ${f.removed.size} removed, ${f.changed.size} changed`;
}

function escapeRegex(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function prepareTree(): Promise<string> {
  if (inPlace) return dir;
  const tree = join(scratch, 'tree');
  const marker = join(scratch, 'tree.source');
  if (existsSync(tree) && (await readFile(marker, 'utf8').catch(() => '')) === dir) {
    console.log(`tree      ${tree} (a copy of ${dir}, reused)`);
    return tree;
  }
  await rm(tree, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const started = performance.now();
  execFileSync('cp', ['-a', '--reflink=auto', dir, tree]);
  await writeFile(marker, dir);
  console.log(
    `tree      ${tree} (copied from ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return tree;
}

async function main(): Promise<void> {
  const tree = await prepareTree();
  const plant = join(tree, 'herd-bench-plant');
  await rm(plant, { recursive: true, force: true });
  await mkdir(plant);
  await writeFile(join(plant, 'content.bin'), Buffer.alloc(1 << 20, 0x61));
  await writeFile(join(plant, 'mode.txt'), 'mode\n', { mode: 0o644 });
  await writeFile(join(plant, 'to-remove.txt'), 'remove me\n');
  await symlink('content.bin', join(plant, 'link'));

  const work = join(scratch, 'run');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const env = { ...process.env, HERD_HOME: join(scratch, 'home'), HERD_KEY_PASSWORD: 'herd bench' };
  const cli = viaTsx ? ['--import', 'tsx', join(root, 'src/cli/main.ts')] : [await buildCli()];
  console.log(`herd      node ${cli.join(' ')}`);
  if (!existsSync(join(env.HERD_HOME, 'keys', 'cosign.key'))) {
    const keys = spawnSync(process.execPath, [...cli, 'keys', 'generate'], {
      env,
      cwd: root,
      encoding: 'utf8',
    });
    if (keys.status !== 0) throw new Error(`herd keys generate failed (${keys.status}): ${keys.stderr}`);
  }
  const herd = (...args: string[]) => timed(process.execPath, [...cli, 'fim', ...args], env);
  const baseline = join(work, 'herd.baseline');
  const database = join(work, 'aide.db');
  const config = join(work, 'aide.conf');
  await writeFile(
    config,
    [
      `database_in=file:${database}`,
      `database_out=file:${database}.new`,
      'gzip_dbout=no',
      ...(aideWorkers ? [`num_workers=${aideWorkers}`] : []),
      'report_url=stdout',
      'HERD = p+u+g+s+m+l+sha256+ftype+xattrs',
      `${escapeRegex(tree)} HERD`,
      '',
    ].join('\n'),
  );

  const herdInit = herd('init', tree, '--output', baseline);
  if (herdInit.status !== 0) throw new Error(`herd fim init failed: ${herdInit.err}`);
  const aideInit = timed('aide', ['--config', config, '--init']);
  if (aideInit.status !== 0) throw new Error(`aide --init failed (${aideInit.status}): ${aideInit.err}`);
  await rename(`${database}.new`, database);
  console.log(
    `init      herd ${herdInit.seconds.toFixed(1)} s (max rss ${herdInit.rssMb.toFixed(0)} MB), aide ${aideInit.seconds.toFixed(1)} s (max rss ${aideInit.rssMb.toFixed(0)} MB)`,
  );

  // AIDE keeps mtimes in whole seconds: let one pass so the planted mtimes differ for both tools.
  await new Promise((done) => setTimeout(done, 1100));
  execFileSync('touch', ['-r', join(plant, 'content.bin'), join(work, 'stamp')]);
  await writeFile(join(plant, 'content.bin'), Buffer.alloc(1 << 20, 0x62));
  execFileSync('touch', ['-r', join(work, 'stamp'), join(plant, 'content.bin')]);
  await writeFile(join(plant, 'added.txt'), 'new\n');
  await unlink(join(plant, 'to-remove.txt'));
  await chmod(join(plant, 'mode.txt'), 0o600);
  await unlink(join(plant, 'link'));
  await symlink('mode.txt', join(plant, 'link'));
  console.log('planted   1 added, 1 removed, content (same size, mtime kept), chmod, symlink retarget');

  let agreeAll = true;
  for (let round = 1; round <= rounds; round++) {
    const herdFull = herd('check', tree, '--baseline', baseline, '--full');
    const aideCheck = timed('aide', ['--config', config, '--check']);
    const herdFast = herd('check', tree, '--baseline', baseline);
    for (const [name, run] of [
      ['herd fim check --full', herdFull],
      ['aide --check', aideCheck],
      ['herd fim check', herdFast],
    ] as const) {
      if (run.status === null || run.status > 7)
        throw new Error(`${name} failed (${run.status}): ${run.err}`);
    }

    const found = {
      herdFull: herdFindings(herdFull.out),
      aide: aideFindings(aideCheck.out),
      herdFast: herdFindings(herdFast.out),
    };
    const entries = /baseline (\d+) entries/.exec(herdFull.out)?.[1] ?? '?';
    const ratio = { full: aideCheck.seconds / herdFull.seconds, fast: aideCheck.seconds / herdFast.seconds };
    const verdict = (kind: 'full' | 'fast') =>
      `goal ≥ ${goal[kind]}×: ${ratio[kind] >= goal[kind] ? 'met' : 'NOT met'}`;
    if (rounds > 1) console.log(`round     ${round} of ${rounds}`);
    console.log(`entries   ${entries} under ${tree}`);
    console.log(`check     herd --full ${describeRun(herdFull, found.herdFull)}`);
    console.log(`          aide        ${describeRun(aideCheck, found.aide)}`);
    console.log(`          herd fast   ${describeRun(herdFast, found.herdFast)}`);
    console.log(
      `ratio     --full ${ratio.full.toFixed(1)}× (aide / herd wall clock, ${verdict('full')}); fast ${ratio.fast.toFixed(1)}× (${verdict('fast')})`,
    );
    console.log(
      `          cpu: --full ${(aideCheck.cpu / herdFull.cpu).toFixed(1)}×, fast ${(aideCheck.cpu / herdFast.cpu).toFixed(1)}×; max rss: --full ${(herdFull.rssMb / aideCheck.rssMb).toFixed(2)}×, fast ${(herdFast.rssMb / aideCheck.rssMb).toFixed(2)}× aide's`,
    );
    const agree = sameFindings(found.herdFull, found.aide) && sameFindings(found.herdFast, found.aide);
    console.log(
      `agree     ${agree ? 'yes' : 'NO'}: both tools found the same added, removed and changed paths`,
    );
    if (!agree) {
      console.log(
        `  herd --full: ${JSON.stringify(Object.fromEntries(Object.entries(found.herdFull).map(([k, v]) => [k, [...v]])))}`,
      );
      console.log(
        `  aide:        ${JSON.stringify(Object.fromEntries(Object.entries(found.aide).map(([k, v]) => [k, [...v]])))}`,
      );
    }
    if (!agree || herdFull.status !== aideCheck.status || herdFast.status !== aideCheck.status)
      agreeAll = false;
  }
  if (!agreeAll) process.exitCode = 1;
}

/** Compiles the CLI as `npm run build` does, into a directory of the bench's own (dist/cli is another's). */
async function buildCli(): Promise<string> {
  const outdir = join(root, 'dist', 'bench-fim');
  execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'build.ts'), '--outdir', outdir], {
    cwd: root,
    stdio: 'inherit',
  });
  return join(outdir, 'main.js');
}

await main();
