/**
 * The integrity monitor: every few seconds the fast path (the engine's diff of each running
 * instance, plus its writable paths read through the engine), on a longer schedule and on demand
 * the deep path (the whole export hashed against the manifest), and at all times the engine's
 * exec events. Whatever it finds goes to IncidentResponse. Time is injected; one tick at a time.
 */
import { type Engine, EngineError, type Instance } from '../engines/engine.js';
import type { Digest } from '../oci/types.js';
import type { Baseline } from './baseline.js';
import { verifyExport } from './deep-verify.js';
import { WatchError } from './errors.js';
import { evidenceLimits } from './evidence.js';
import { type ExpectedPaths, expectedPaths } from './expected-paths.js';
import type { DriftFinding } from './findings.js';
import type { Detection } from './incident-response.js';
import { judgeChanges } from './judge-changes.js';
import { readEntries } from './read-entries.js';
import { scanWritable } from './scan-writable.js';
import type { TrustedBaseline } from './trusted-manifest.js';

export interface WatchClock {
  /** Epoch ms. */
  now(): number;
  /** Calls `run` once after `ms`; the returned function cancels it. */
  setTimer(ms: number, run: () => void): () => void;
}

export const systemWatchClock: WatchClock = {
  now: () => Date.now(),
  setTimer: (ms, run) => {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
};

export interface MonitorLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface Responder {
  respond(detection: Detection): Promise<unknown>;
  /** Out of the front door now, before the slower reads that `respond` waits for (IncidentResponse). */
  quarantine?(instance: Instance, reason: string): Promise<unknown>;
  gone(listed: ReadonlySet<string>): void;
}

export interface IntegrityMonitorOptions {
  engine: Engine;
  /** The verified baseline of an image (trusted-manifest.ts); cached here per digest. */
  baselineOf: (digest: Digest) => Promise<TrustedBaseline>;
  /**
   * The template the instance was made from (found by its label, never the fleet's current one):
   * its writable paths, or `no-fleet` (left alone), or `unknown` (untrusted: herd did not make it so).
   */
  templateOf: (instance: Instance) => WatchedTemplate;
  responder: Responder;
  clock?: WatchClock;
  /** Fast path period; default 1000 ms, so a change is seen within 2 s. */
  fastIntervalMs?: number;
  /** Deep path period per instance; default 15 min. 0 turns the schedule off (on demand only). */
  deepIntervalMs?: number;
  log?: MonitorLog;
}

export type WatchedTemplate =
  | { kind: 'known'; writable: readonly string[] }
  | { kind: 'no-fleet' }
  | { kind: 'unknown'; reason: string };

export interface InstanceVerification {
  instance: string;
  service: string;
  digest: string;
  trusted: boolean;
  /** Why the baseline was not trusted, when it was not. */
  untrusted?: { code: string; reason: string };
  findings: DriftFinding[];
  entries: number;
  bytes: number;
  durationMs: number;
}

const silentLog: MonitorLog = { info: () => {}, warn: () => {} };
/** Fast-path findings read back through the engine for their hashes and first bytes. */
const maxEnriched = 16;

export class IntegrityMonitor {
  private readonly clock: WatchClock;
  private readonly log: MonitorLog;
  private readonly baselines = new Map<string, Promise<TrustedBaseline>>();
  /** Instances already handed to the responder: checked no further until they are gone. */
  private readonly handled = new Set<string>();
  private readonly lastDeep = new Map<string, number>();
  private abort = new AbortController();
  private cancelTimer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private deepRunning: Promise<unknown> | undefined;
  private execLoop: Promise<void> | undefined;

  constructor(private readonly options: IntegrityMonitorOptions) {
    this.clock = options.clock ?? systemWatchClock;
    this.log = options.log ?? silentLog;
  }

  start(): void {
    this.abort = new AbortController();
    this.execLoop = this.followExecs(this.abort.signal);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.cancelTimer?.();
    await Promise.allSettled([this.running, this.deepRunning, this.execLoop]);
  }

  /** One fast pass over every running instance (and a due deep check, in the background). */
  tick(): Promise<void> {
    this.running ??= this.fastPass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The deep path for one instance now; drift found is responded to like the fast path's. */
  async verifyInstance(id: string): Promise<InstanceVerification> {
    // A prefix must name one instance: a deep check that finds drift replaces what it checked.
    const matches = (await this.options.engine.list()).filter(
      (one) => one.id === id || one.id.startsWith(id),
    );
    const [instance] = matches;
    if (!instance) throw new WatchError('INSTANCE_NOT_FOUND', `no herd instance ${id} on the engine`);
    if (matches.length > 1) {
      throw new WatchError(
        'INSTANCE_AMBIGUOUS',
        `${id} names ${matches.length} instances; give more of the id`,
      );
    }
    if (this.options.templateOf(instance).kind === 'no-fleet') {
      throw new WatchError(
        'INSTANCE_NOT_FOUND',
        `instance ${id} belongs to ${instance.service}, which has no fleet`,
      );
    }
    return this.deepCheck(instance);
  }

  private schedule(ms: number): void {
    if (this.abort.signal.aborted) return;
    this.cancelTimer = this.clock.setTimer(ms, () => {
      void this.tick()
        .catch((error) => this.log.warn({ err: String(error) }, 'integrity check failed'))
        .finally(() => this.schedule(this.options.fastIntervalMs ?? 1000));
    });
  }

  private async fastPass(): Promise<void> {
    const instances = await this.options.engine.list();
    const listed = new Set(instances.map((one) => one.id));
    for (const id of this.handled) if (!listed.has(id)) this.handled.delete(id);
    for (const id of this.lastDeep.keys()) if (!listed.has(id)) this.lastDeep.delete(id);
    this.options.responder.gone(listed);
    for (const instance of instances) {
      if (this.abort.signal.aborted) return;
      if (instance.state !== 'running' || this.handled.has(instance.id)) continue;
      try {
        await this.fastCheck(instance);
      } catch (error) {
        // Removed between list and check: nothing to judge. Anything else is logged, the rest go on.
        if (error instanceof EngineError && error.code === 'NOT_FOUND') continue;
        this.log.warn({ id: instance.id, err: String(error) }, 'fast integrity check failed');
      }
    }
    this.startDueDeepCheck(instances);
  }

  private async fastCheck(instance: Instance): Promise<void> {
    const context = await this.contextOf(instance);
    if (!context) return;
    const { engine } = this.options;
    const changes = await engine.changes(instance.id);
    const findings = judgeChanges(changes, context);
    findings.push(
      ...(await scanWritable(engine, instance.id, {
        roots: context.expected.writable,
        headBytes: evidenceLimits.headBytes,
      })),
    );
    if (findings.length === 0) return;
    // Quarantine first: reading the files back for evidence takes a round trip per file.
    await this.options.responder.quarantine?.(instance, 'drift');
    await this.enrich(instance.id, findings);
    await this.detected({ kind: 'drift', instance, source: 'fast', findings });
  }

  /** One instance's deep check at a time, the one that waited longest, off the fast path's clock. */
  private startDueDeepCheck(instances: readonly Instance[]): void {
    const every = this.options.deepIntervalMs ?? 15 * 60_000;
    if (every <= 0 || this.deepRunning) return;
    const now = this.clock.now();
    const due = instances
      // Like the fast path, only instances of a fleet: others are not herd's to judge or replace.
      .filter((one) => one.state === 'running' && !this.handled.has(one.id))
      .filter((one) => this.options.templateOf(one).kind !== 'no-fleet')
      .map((one) => ({ one, last: this.lastDeep.get(one.id) ?? one.startedAt ?? one.createdAt }))
      .filter(({ last }) => now - last >= every)
      .sort((a, b) => a.last - b.last)[0];
    if (!due) return;
    this.lastDeep.set(due.one.id, now);
    this.deepRunning = this.deepCheck(due.one)
      .catch((error) => this.log.warn({ id: due.one.id, err: String(error) }, 'deep integrity check failed'))
      .finally(() => {
        this.deepRunning = undefined;
      });
  }

  private async deepCheck(instance: Instance): Promise<InstanceVerification> {
    const began = this.clock.now();
    const base = { instance: instance.id, service: instance.service, digest: instance.digest };
    const template = this.options.templateOf(instance);
    const trusted =
      template.kind === 'unknown'
        ? unknownTemplate(template.reason)
        : await this.baselineFor(instance.digest);
    if (trusted.kind === 'untrusted') {
      await this.detected({ kind: 'untrusted', instance, code: trusted.code, reason: trusted.reason });
      return {
        ...base,
        trusted: false,
        untrusted: { code: trusted.code, reason: trusted.reason },
        findings: [],
        entries: 0,
        bytes: 0,
        durationMs: this.clock.now() - began,
      };
    }
    const expected = expectedPaths(template.kind === 'known' ? template.writable : []);
    const context = { baseline: trusted.baseline, expected };
    const signal = this.abort.signal;
    const stream = await this.options.engine.exportFilesystem(instance.id, { signal });
    const result = await verifyExport(stream as AsyncIterable<Buffer>, {
      ...context,
      headBytes: evidenceLimits.headBytes,
    });
    const findings = [
      ...result.findings,
      ...(await scanWritable(this.options.engine, instance.id, {
        roots: expected.writable,
        headBytes: evidenceLimits.headBytes,
        signal,
      })),
    ];
    if (findings.length > 0) await this.detected({ kind: 'drift', instance, source: 'deep', findings });
    return {
      ...base,
      trusted: true,
      findings,
      entries: result.entries,
      bytes: result.bytes,
      durationMs: this.clock.now() - began,
    };
  }

  /** The baseline and expected paths, or undefined (and the instance handed over) when untrusted. */
  private async contextOf(
    instance: Instance,
  ): Promise<{ baseline: Baseline; expected: ExpectedPaths } | undefined> {
    const template = this.options.templateOf(instance);
    if (template.kind === 'no-fleet') return undefined;
    if (template.kind === 'unknown') {
      await this.detected({ instance, ...unknownTemplate(template.reason) });
      return undefined;
    }
    const trusted = await this.baselineFor(instance.digest);
    if (trusted.kind === 'untrusted') {
      await this.detected({ kind: 'untrusted', instance, code: trusted.code, reason: trusted.reason });
      return undefined;
    }
    return { baseline: trusted.baseline, expected: expectedPaths(template.writable) };
  }

  private baselineFor(digest: Digest): Promise<TrustedBaseline> {
    let pending = this.baselines.get(digest);
    if (!pending) {
      pending = this.options.baselineOf(digest);
      // A failure to read (not a verdict) is not kept: the next tick asks again.
      pending.catch(() => this.baselines.delete(digest));
      this.baselines.set(digest, pending);
    }
    return pending;
  }

  private async detected(detection: Detection): Promise<void> {
    this.handled.add(detection.instance.id);
    this.log.warn(
      { id: detection.instance.id, service: detection.instance.service, kind: detection.kind },
      'instance integrity incident',
    );
    await this.options.responder.respond(detection);
  }

  /** Hashes and first bytes of the changed files, read through the engine (a few small reads). */
  private async enrich(id: string, findings: DriftFinding[]): Promise<void> {
    const wanted = findings.filter((one) => !one.observed && one.change !== 'deleted').slice(0, maxEnriched);
    for (const finding of wanted) {
      try {
        const stream = await this.options.engine.readPath(id, finding.path, {});
        const parent = finding.path.slice(0, finding.path.lastIndexOf('/'));
        await readEntries(
          stream as AsyncIterable<Buffer>,
          (entry, observed) => {
            if (`${parent}${entry.path}` === finding.path) finding.observed = observed;
          },
          { headBytes: evidenceLimits.headBytes, hash: (entry) => `${parent}${entry.path}` === finding.path },
        );
      } catch (error) {
        // Evidence is best effort per file; the finding stands without its bytes.
        this.log.warn(
          { id, path: finding.path, err: String(error) },
          'could not read a changed file for evidence',
        );
      }
    }
  }

  /** Exec events, for as long as the monitor runs; a broken stream is followed again after a pause. */
  private async followExecs(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of this.options.engine.events(signal)) {
          // Not skipped when already handled: an exec on a drifted instance is its own incident.
          if (event.kind !== 'exec') continue;
          const instance = (await this.options.engine.list()).find((one) => one.id === event.id);
          if (!instance || this.options.templateOf(instance).kind === 'no-fleet') continue;
          await this.detected({
            kind: 'exec',
            instance,
            ...(event.command ? { command: event.command } : {}),
          });
        }
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn({ err: String(error) }, 'engine events broke; following them again');
        await new Promise<void>((resolve) => this.clock.setTimer(1000, resolve));
      }
    }
  }
}

/** An instance of a fleet labelled with a template herd never stored is judged as untrusted. */
function unknownTemplate(reason: string): Extract<TrustedBaseline, { kind: 'untrusted' }> {
  return { kind: 'untrusted', code: 'TEMPLATE_UNKNOWN', reason };
}
