/**
 * The memory engine's process table: each instance starts with an init (pid 1, `/run/podman-init`
 * as Podman's is) and its image's program (pid 2), and tests plant more, as an intruder would. A
 * debug program is simulated here too: it behaves as `probe-server echo` does on a real engine
 * (test/support/probe-server.c), so the engine contract holds for both.
 */
import { createHash } from 'node:crypto';
import type { DebugExec, DebugExecOptions, InstanceProcess } from '../engine.js';
import { EventFeed } from '../event-feed.js';

/** Where Podman puts the init it adds (`Init: true`). */
export const memoryInitPath = '/run/podman-init';

export class MemoryProcessTable {
  private readonly byInstance = new Map<string, InstanceProcess[]>();
  private readonly programs = new Map<string, string[]>();
  private nextPid = new Map<string, number>();

  /** Instances of `digest` run `command` (exec form) under the init; default `/app`. */
  setImageCommand(digest: string, command: string[]): void {
    this.programs.set(digest, [...command]);
  }

  started(id: string, digest: string, user: string): void {
    const command = this.programs.get(digest) ?? ['/app'];
    const program = command[0] ?? '/app';
    this.byInstance.set(id, [
      {
        pid: 1,
        ppid: 0,
        user,
        command: `${memoryInitPath} -- ${command.join(' ')}`,
        executable: memoryInitPath,
        sha256: fakeHash(memoryInitPath),
      },
      { pid: 2, ppid: 1, user, command: command.join(' '), executable: program, sha256: fakeHash(program) },
    ]);
    this.nextPid.set(id, 3);
  }

  gone(id: string): void {
    this.byInstance.delete(id);
    this.nextPid.delete(id);
  }

  has(id: string): boolean {
    return this.byInstance.has(id);
  }

  list(id: string, options: { hash?: boolean } = {}): InstanceProcess[] {
    return (this.byInstance.get(id) ?? []).map(({ sha256, ...process }) => ({
      ...process,
      ...(options.hash && sha256 ? { sha256 } : {}),
    }));
  }

  /** A process appears in the instance (an nsenter, or something the app started); returns its pid. */
  plant(id: string, process: Omit<InstanceProcess, 'pid' | 'ppid'> & { ppid?: number }): number {
    const table = this.byInstance.get(id);
    if (!table) return 0;
    const pid = this.nextPid.get(id) ?? 3;
    this.nextPid.set(id, pid + 1);
    table.push({
      ppid: 0,
      ...process,
      pid,
      ...(process.executable && !process.sha256 ? { sha256: fakeHash(process.executable) } : {}),
    });
    return pid;
  }

  end(id: string, pid: number): void {
    const table = this.byInstance.get(id);
    if (table)
      this.byInstance.set(
        id,
        table.filter((one) => one.pid !== pid),
      );
  }

  /** A debug program in the instance: a process while it runs, lines echoed as `probe-server echo` does. */
  debugExec(id: string, options: DebugExecOptions & { user: string }): DebugExec {
    const feed = new EventFeed<{ stream: 'stdout' | 'stderr'; data: Buffer } | 'end'>();
    const abort = new AbortController();
    const frames = feed.subscribe(abort.signal);
    const pid = this.plant(id, {
      user: options.user,
      command: options.command.join(' '),
      ...(options.command[0] ? { executable: options.command[0] } : {}),
    });
    let pending = '';
    let done = false;
    let exited!: (code: number | undefined) => void;
    const code = new Promise<number | undefined>((resolve) => {
      exited = resolve;
    });
    const finish = (exit: number | undefined) => {
      if (done) return;
      done = true;
      this.end(id, pid);
      feed.emit('end');
      exited(exit);
    };
    const uid = options.user.split(':')[0];
    const output = (async function* () {
      try {
        for await (const frame of frames) {
          if (frame === 'end') return;
          yield frame;
        }
      } finally {
        abort.abort();
      }
    })();
    return {
      output,
      write: (data) => {
        if (done) return;
        pending += data.toString('utf8');
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
          const line = pending.slice(0, newline).replace(/\r$/, '');
          pending = pending.slice(newline + 1);
          if (options.tty) feed.emit({ stream: 'stdout', data: Buffer.from(`${line}\r\n`) });
          if (line === 'fail') {
            feed.emit({ stream: 'stderr', data: Buffer.from('failing\n') });
            finish(7);
            return;
          }
          const echoed = `uid=${uid} ${line}${options.tty ? '\r\n' : '\n'}`;
          feed.emit({ stream: 'stdout', data: Buffer.from(echoed) });
        }
      },
      endInput: () => finish(0),
      resize: async () => undefined,
      exitCode: () => code,
      close: () => finish(undefined),
    };
  }
}

/** What the memory engine reports as an executable's hash: stable per path, not a real file's. */
/** By path, computed once: every create hashes its init and program (100,000 in bench/scale). */
const fakeHashes = new Map<string, string>();

function fakeHash(path: string): string {
  let hash = fakeHashes.get(path);
  if (hash === undefined) {
    hash = createHash('sha256').update(`memory engine executable ${path}`).digest('hex');
    fakeHashes.set(path, hash);
  }
  return hash;
}
