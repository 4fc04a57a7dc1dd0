/**
 * bench/fim: `herd fim check` against `aide --check` on the same tree, in the same run, with the
 * same planted changes (issue 6: herd at least 5× faster; AIDE takes about 85 s on /usr here).
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
 * Timed, each a whole process: `herd fim check --full` (every file hashed: the like-for-like
 * comparison with AIDE, which hashes everything), `aide --check`, and herd's default fast mode
 * (files whose size, mtime, ctime and inode are unchanged keep their recorded hash).
 * AIDE's rule is herd's attributes: p+u+g+s+m+l+sha256+ftype+xattrs.
 *
 *   node --import tsx bench/fim.ts [--dir /usr] [--scratch /var/tmp/herd-bench-fim] [--in-place]
 *                                  [--aide-workers N]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
const goalRatio = 5;

interface Timed {
  status: number | null;
  out: string;
  err: string;
  seconds: number;
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const started = performance.now();
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  return {
    status: result.status,
    out: result.stdout,
    err: result.stderr,
    seconds: (performance.now() - started) / 1000,
  };
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
  if (!existsSync(join(env.HERD_HOME, 'keys', 'cosign.key'))) {
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'keys', 'generate'], {
      env,
      cwd: root,
      stdio: 'ignore',
    });
  }
  const herd = (...args: string[]) =>
    timed(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'fim', ...args], env);
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
  console.log(`init      herd ${herdInit.seconds.toFixed(1)} s, aide ${aideInit.seconds.toFixed(1)} s`);

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

  const herdFull = herd('check', tree, '--baseline', baseline, '--full');
  const aideCheck = timed('aide', ['--config', config, '--check']);
  const herdFast = herd('check', tree, '--baseline', baseline);
  for (const [name, run] of [
    ['herd fim check --full', herdFull],
    ['aide --check', aideCheck],
    ['herd fim check', herdFast],
  ] as const) {
    if (run.status === null || run.status > 7) throw new Error(`${name} failed (${run.status}): ${run.err}`);
  }

  const found = {
    herdFull: herdFindings(herdFull.out),
    aide: aideFindings(aideCheck.out),
    herdFast: herdFindings(herdFast.out),
  };
  const entries = /baseline (\d+) entries/.exec(herdFull.out)?.[1] ?? '?';
  const ratio = aideCheck.seconds / herdFull.seconds;
  console.log(`entries   ${entries} under ${tree}`);
  console.log(
    `check     herd --full ${herdFull.seconds.toFixed(2)} s (exit ${herdFull.status}: ${describeFindings(found.herdFull)})`,
  );
  console.log(
    `          aide        ${aideCheck.seconds.toFixed(2)} s (exit ${aideCheck.status}: ${describeFindings(found.aide)})`,
  );
  console.log(
    `          herd fast   ${herdFast.seconds.toFixed(2)} s (exit ${herdFast.status}: ${describeFindings(found.herdFast)})`,
  );
  console.log(
    `ratio     ${ratio.toFixed(1)}× (aide / herd --full, goal ≥ ${goalRatio}×: ${ratio >= goalRatio ? 'met' : 'NOT met'}); fast mode ${(aideCheck.seconds / herdFast.seconds).toFixed(1)}×`,
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
  if (!agree || herdFull.status !== aideCheck.status) process.exitCode = 1;
}

await main();
