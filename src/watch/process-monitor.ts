/**
 * The process allowlist, enforced: every second, each running instance of a fleet has its processes
 * sampled from outside (the engine's top, and the file each one runs) and judged against its
 * allowlist (judge-processes.ts). A process off the list is an incident: the instance is
 * quarantined first, then the executables are hashed for the evidence, which keeps the process
 * tree with its command lines, and IncidentResponse does the rest. Time is injected; one pass at a
 * time.
 */
import { type Clock, type Logger, silentLogger, systemClock } from '../common/index.js';
import { type Engine, EngineError, type Instance, type InstanceProcess } from '../engines/index.js';
import type { ProcessAllowlist } from './allowed-processes.js';
import type { Responder } from './integrity-monitor.js';
import { executablesKnown, judgeProcesses } from './judge-processes.js';

export interface ProcessMonitorOptions {
  engine: Engine;
  /** The instance's allowlist; undefined when it is not herd's to judge (no fleet, untrusted image). */
  allowlistOf: (instance: Instance) => Promise<ProcessAllowlist | undefined>;
  responder: Responder;
  clock?: Clock;
  /** Default 1000 ms. */
  intervalMs?: number;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Instances someone holds on purpose (a debug session): not sampled while held. */
  held?: (id: string) => boolean;
}

export class ProcessMonitor {
  private readonly clock: Clock;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  /** Instances handed to the responder: sampled no more until they are gone. */
  private readonly handled = new Set<string>();
  /** Instances whose executables the engine could not read, said once each. */
  private readonly unreadable = new Set<string>();
  private abort = new AbortController();
  private cancelTimer: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ProcessMonitorOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
  }

  start(): void {
    this.abort = new AbortController();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.cancelTimer?.();
    await this.running;
  }

  /** One sample of every running instance. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.abort.signal.aborted) return;
    this.cancelTimer = this.clock.setTimer(ms, () => {
      void this.tick()
        .catch((error) => this.log.warn({ err: String(error) }, 'process sampling failed'))
        .finally(() => this.schedule(this.options.intervalMs ?? 1000));
    });
  }

  private async pass(): Promise<void> {
    const instances = await this.options.engine.list();
    const listed = new Set(instances.map((one) => one.id));
    for (const id of this.handled) if (!listed.has(id)) this.handled.delete(id);
    for (const id of this.unreadable) if (!listed.has(id)) this.unreadable.delete(id);
    for (const instance of instances) {
      if (this.abort.signal.aborted) return;
      if (instance.state !== 'running' || this.handled.has(instance.id)) continue;
      if (this.options.held?.(instance.id)) continue;
      try {
        await this.sample(instance);
      } catch (error) {
        // Gone or stopped between the list and the sample: nothing to judge.
        if (error instanceof EngineError && error.code === 'NOT_FOUND') continue;
        this.log.warn({ id: instance.id, err: String(error) }, 'process sample failed');
      }
    }
  }

  private async sample(instance: Instance): Promise<void> {
    const allowlist = await this.options.allowlistOf(instance);
    if (!allowlist) return;
    const { engine } = this.options;
    const processes = await engine.processes(instance.id);
    if (!executablesKnown(processes)) {
      if (!this.unreadable.has(instance.id)) {
        this.unreadable.add(instance.id);
        this.log.warn(
          { id: instance.id, service: instance.service },
          "the engine could not say which files this instance's processes run: the process allowlist is not enforced on it",
        );
      }
      return;
    }
    const findings = judgeProcesses(processes, allowlist);
    if (findings.length === 0) return;
    this.handled.add(instance.id);
    this.log.warn(
      { id: instance.id, service: instance.service, kind: 'process' },
      'instance integrity incident',
    );
    // Quarantine first: hashing the executables reads whole files.
    await this.options.responder.quarantine?.(instance, 'process');
    const hashed = await engine.processes(instance.id, { hash: true }).catch(() => []);
    await this.options.responder.respond({
      kind: 'process',
      instance,
      findings,
      processes: withHashes(processes, hashed),
    });
  }
}

/** The first sample, with the hashes of the second where the same process still ran the same file. */
function withHashes(
  sampled: readonly InstanceProcess[],
  hashed: readonly InstanceProcess[],
): InstanceProcess[] {
  return sampled.map((process) => {
    const again = hashed.find((one) => one.pid === process.pid && one.executable === process.executable);
    return again?.sha256 ? { ...process, sha256: again.sha256 } : { ...process };
  });
}
