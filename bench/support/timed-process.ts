/**
 * One command timed as a user would see it: wall time from spawn to exit, and the CPU time and
 * peak RSS that `/usr/bin/time -v` reports for it. The benches that compare herd with a peer (mmdebstrap, apt-get)
 * time both sides through this, so both are measured the same way.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TimedProcess {
  seconds: number;
  /** User plus system CPU seconds, the processes it waited for (a decoder, dpkg) included. */
  cpuSeconds: number;
  peakBytes: number;
  stdout: string;
}

/** Runs `command` under `/usr/bin/time -v` in `cwd`; a non-zero exit throws with its stderr. */
export function timedProcess(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): TimedProcess {
  const dir = mkdtempSync(join(tmpdir(), 'herd-bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const started = process.hrtime.bigint();
    const result = spawnSync('/usr/bin/time', ['-v', '-o', report, command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 ** 2,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.error)
      throw new Error(`cannot run /usr/bin/time (install the time package): ${result.error.message}`);
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
    }
    const text = readFileSync(report, 'utf8');
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? Number.NaN);
    const cpu = (name: string) =>
      Number(new RegExp(`${name} time \\(seconds\\): ([0-9.]+)`).exec(text)?.[1] ?? Number.NaN);
    return { seconds, cpuSeconds: cpu('User') + cpu('System'), peakBytes: kb * 1024, stdout: result.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
