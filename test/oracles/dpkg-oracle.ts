/**
 * dpkg itself as the oracle of the version order: `dpkg-compare.c` compiled against libdpkg at
 * test time, and, to show that program is faithful, the real `dpkg --compare-versions`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `<`, `=`, `>`, or `E` when dpkg refuses one of the versions. */
export type Verdict = '<' | '=' | '>' | 'E';

const source = join(import.meta.dirname, 'dpkg-compare.c');
const installHint = 'apt-get install libdpkg-dev gcc';

/** Compiles the oracle into `dir`. Throws with what to install when the compiler or libdpkg is missing. */
export function buildDpkgOracle(dir: string): string {
  const compiler = ['cc', 'gcc'].find((name) => spawnSync(name, ['--version']).status === 0);
  if (!compiler) throw new Error(`no C compiler (cc or gcc) to build the dpkg oracle: ${installHint}`);
  if (!existsSync('/usr/include/dpkg/version.h')) {
    throw new Error(
      `libdpkg's headers (/usr/include/dpkg) are missing, so the dpkg oracle cannot be built: ${installHint}`,
    );
  }
  const binary = join(dir, 'dpkg-compare');
  const built = spawnSync(compiler, ['-O2', '-o', binary, source, '-ldpkg'], { encoding: 'utf8' });
  if (built.status !== 0) {
    throw new Error(`building the dpkg oracle failed (${installHint}):\n${built.stderr}`);
  }
  return binary;
}

export function runDpkgOracle(binary: string, pairs: readonly [string, string][]): Verdict[] {
  const result = spawnSync(binary, [], {
    input: pairs.map(([a, b]) => `${a}\t${b}\n`).join(''),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 ** 2,
  });
  if (result.status !== 0) throw new Error(`the dpkg oracle failed: ${result.stderr}`);
  const verdicts = result.stdout.trimEnd().split('\n') as Verdict[];
  if (verdicts.length !== pairs.length) {
    throw new Error(`the dpkg oracle answered ${verdicts.length} of ${pairs.length} pairs`);
  }
  return verdicts;
}

/** The real dpkg binary, two calls per pair: slow, so only for a sample. */
export function dpkgCompareVersions(pairs: readonly [string, string][]): Verdict[] {
  const script = [
    'while IFS="$(printf "\\t")" read -r a b; do',
    '  dpkg --compare-versions "$a" lt "$b" 2>/dev/null; r=$?',
    '  if [ "$r" = 0 ]; then echo "<"; continue; fi',
    '  if [ "$r" != 1 ]; then echo E; continue; fi',
    '  if dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo "="; else echo ">"; fi',
    'done',
  ].join('\n');
  const result = spawnSync('sh', ['-c', script], {
    input: pairs.map(([a, b]) => `${a}\t${b}\n`).join(''),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`dpkg --compare-versions failed: ${result.stderr}`);
  return result.stdout.trimEnd().split('\n') as Verdict[];
}
