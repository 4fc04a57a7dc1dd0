/**
 * The integrity monitor: every few seconds the fast path (the engine's diff of each running
 * instance, plus its writable paths read through the engine), on a longer schedule and on demand
 * the deep path (the whole export hashed against the manifest), and at all times the engine's
 * exec events. Whatever it finds goes to IncidentResponse. Time is injected; one tick at a time.
 */
import { setMaxListeners } from 'node:events';
import { type Clock, type Logger, silentLogger, systemClock } from '../common/index.js';
import { type Engine, EngineError, type Instance } from '../engines/index.js';
import type { Digest } from '../oci/index.js';
import type { Baseline } from './baseline.js';
import { BlindedWatch } from './blinded-watch.js';
import { WatchError } from './errors.js';
import type { EventCursor } from './event-cursor.js';
import { evidenceLimits } from './evidence.js';
import { type ExpectedPaths, expectedPaths } from './expected-paths.js';
import type { DriftFinding } from './findings.js';
import { findingsInImage, type PristineImages } from './image-tampering.js';
import type { Detection } from './incident-response.js';
import { judgeChanges } from './judge-changes.js';
import { readEntries } from './read-entries.js';
import type { TrustedBaseline } from './trusted-manifest.js';
import { verifyFilesystem, withoutEngineFiles } from './verify-filesystem.js';
import { WritableWatch } from './writable-watch.js';

export interface Responder {
  respond(detection: Detection): Promise<unknown>;
  /** Out of the front door now, before the slower reads that `respond` waits for (IncidentResponse). */
  quarantine?(instance: Instance, reason: string): Promise<unknown>;
  /** Condemns again the listed instances whose incident is open; returns their ids (IncidentResponse). */
  reinstate?(listed: readonly Instance[]): Promise<string[]>;
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
  clock?: Clock;
  /** Fast path period; default 1000 ms, so a change is seen within 2 s. */
  fastIntervalMs?: number;
  /**
   * Per instance per fast pass: what listing its writable paths and reading the first bytes of
   * new files may cost (writable-watch.ts); default 4 MiB. What does not fit waits for the next pass.
   */
  writableBudgetBytes?: number;
  /**
   * How often one random instance of each fleet gets a deep check, for fleets whose spec does not
   * say (`deepIntervalOf`); default 5 min. 0 turns the schedule off (on demand only).
   */
  deepIntervalMs?: number;
  /** A fleet's own deep check period in ms (its spec's `watch.deepCheck.interval`), when it has one. */
  deepIntervalOf?: (service: string) => number | undefined;
  /** Picks the instance of a periodic deep check; Math.random by default. */
  random?: () => number;
  /** The last engine event handled, kept in herd.db: a restart replays what came after it. */
  eventCursor?: EventCursor;
  /**
   * The fleet controller, for a tampered image: no new instance from the copy, the copy fetched
   * anew, and each instance made afterwards deep-checked before it takes traffic.
   */
  images?: PristineImages;
  log?: Pick<Logger, 'info' | 'warn'>;
  /**
   * Instances someone holds on purpose (a debug session, src/debug): already out of service and to
   * be destroyed, and what happens in them is recorded there. Nothing found in one is an incident;
   * the debug session's own exec in particular is not a second one.
   */
  held?: (id: string) => boolean;
  /**
   * An instance whose diff (`engine.changes`) fails this long without one success, and at least
   * `blindMinFailures` times, is replaced as blinded (blinded-watch.ts); 10 min and 3 by default.
   */
  blindAfterMs?: number;
  blindMinFailures?: number;
}

/** One random instance of each fleet every 5 minutes: a change made to the layers on the host shows. */
export const defaultDeepIntervalMs = 5 * 60_000;

export type WatchedTemplate =
  | { kind: 'known'; writable: readonly string[]; writableRoot?: boolean; processes?: readonly string[] }
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

/** Fast-path findings read back through the engine for their hashes and first bytes. */
const maxEnriched = 16;

export class IntegrityMonitor {
  private readonly clock: Clock;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly baselines = new Map<string, Promise<TrustedBaseline>>();
  /** Instances already handed to the responder: checked no further until they are gone. */
  private readonly handled = new Set<string>();
  /** When each fleet (by service) last had its periodic deep check, or was first seen. */
  private readonly lastDeep = new Map<string, number>();
  /** Digests whose copy on the engine is being judged and fetched anew: one at a time each. */
  private readonly renewing = new Map<string, Promise<void>>();
  /** Deep checks of instances that wait for one before they take traffic, by instance id. */
  private readonly verifying = new Map<string, Promise<void>>();
  private readonly writable: WritableWatch;
  private readonly blinded: BlindedWatch;
  private abort = new AbortController();
  private cancelTimer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private deepRunning: Promise<unknown> | undefined;
  private execLoop: Promise<void> | undefined;
  /** Whether this monitor's first pass has condemned again the instances with an open incident. */
  private reinstated = false;
  /** Whether it said that the engine reads no writable path. */
  private saidNoWritable = false;

  constructor(private readonly options: IntegrityMonitorOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.writable = new WritableWatch({
      engine: options.engine,
      ...(options.writableBudgetBytes !== undefined ? { budgetBytes: options.writableBudgetBytes } : {}),
      log: this.log,
    });
    this.blinded = new BlindedWatch({
      ...(options.blindAfterMs !== undefined ? { afterMs: options.blindAfterMs } : {}),
      ...(options.blindMinFailures !== undefined ? { minFailures: options.blindMinFailures } : {}),
    });
  }

  start(): void {
    this.abort = new AbortController();
    // Every instance's path reads and exports hang a listener on this signal while they run (and
    // take it with them): with a fleet of any size, Node's leak warning at 11 would cry wolf.
    setMaxListeners(0, this.abort.signal);
    this.execLoop = this.followExecs(this.abort.signal);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.cancelTimer?.();
    await Promise.allSettled([
      this.running,
      this.deepRunning,
      this.execLoop,
      ...this.renewing.values(),
      ...this.verifying.values(),
    ]);
  }

  /**
   * Resolves once nothing runs in the background: the fast pass, the deep checks (periodic and of
   * new instances) and the fetching anew of tampered images.
   */
  async whenIdle(): Promise<void> {
    for (;;) {
      const pending = [this.running, this.deepRunning, ...this.renewing.values(), ...this.verifying.values()];
      const busy = pending.filter((one) => one !== undefined);
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
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
    this.options.responder.gone(listed);
    this.blinded.retain(listed);
    if (!this.reinstated && this.options.responder.reinstate) {
      // After a restart: the controller forgot whom it condemned; the incidents in herd.db did not.
      const running = instances.filter((one) => one.state === 'running' && !this.options.held?.(one.id));
      for (const id of await this.options.responder.reinstate(running)) this.handled.add(id);
      this.reinstated = true;
    }
    this.writable.retain(new Set([...listed].filter((id) => !this.handled.has(id))));
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
    this.startVerifications(instances);
    this.startDueDeepCheck(instances);
  }

  private async fastCheck(instance: Instance): Promise<void> {
    const context = await this.contextOf(instance);
    if (!context) return;
    const changes = await this.changesOf(instance);
    if (!changes) return;
    const findings = judgeChanges(changes, context);
    // Metadata every pass, content only of new or changed files, within the instance's budget.
    // `scanned`: the writable paths and the engine's /dev/shm (expected-paths.ts).
    const writable = await this.writable
      .check(instance.id, context.expected.scanned, this.abort.signal)
      .catch((error: unknown) => {
        // An engine that reads no path (Kubernetes): the diff's findings still count; said once.
        if (!(error instanceof EngineError && error.code === 'UNSUPPORTED')) throw error;
        if (!this.saidNoWritable) this.log.warn({ err: error.message }, 'writable paths are not watched');
        this.saidNoWritable = true;
        return undefined;
      });
    if (writable) findings.push(...withoutEngineFiles(writable.findings, context.expected));
    if (findings.length === 0) return;
    const inImage = this.holdIfInImage(instance, findings, {
      ...context,
      upperLayer: new Set(changes.map((change) => change.path)),
    });
    // Quarantine first: reading the files back for evidence takes a round trip per file.
    await this.options.responder.quarantine?.(instance, 'drift');
    await this.enrich(instance.id, findings);
    await this.detected({ kind: 'drift', instance, source: 'fast', findings });
    if (inImage) void this.renewImage(instance.digest, `fast path: ${inImage}`);
  }

  /**
   * The engine's diff of `instance`, or undefined once its failures count as a blinded watch: then
   * the instance is handed to the responder (replaced, journaled) as a drift with that reason. Its
   * image is not suspected: nothing says the layers changed.
   */
  private async changesOf(instance: Instance): Promise<Awaited<ReturnType<Engine['changes']>> | undefined> {
    try {
      const changes = await this.options.engine.changes(instance.id);
      this.blinded.succeeded(instance.id);
      return changes;
    } catch (error) {
      const finding = this.blinded.failed(instance.id, error, this.clock.now());
      if (!finding) throw error;
      this.log.warn({ id: instance.id, err: String(error) }, 'drift watch blinded: replacing the instance');
      await this.options.responder.quarantine?.(instance, 'drift');
      await this.detected({ kind: 'drift', instance, source: 'fast', findings: [finding] });
      return undefined;
    }
  }

  /**
   * When the findings implicate the engine's copy of the image: no new instance from it from now
   * on (before the quarantine asks for a replacement). Returns the first such path, for the reason.
   */
  private holdIfInImage(
    instance: Instance,
    findings: readonly DriftFinding[],
    context: { expected: ExpectedPaths; writableRoot: boolean; upperLayer?: ReadonlySet<string> },
  ): string | undefined {
    const images = this.options.images;
    if (!images) return undefined;
    const [first] = findingsInImage(findings, context);
    if (!first) return undefined;
    images.holdImage(instance.digest);
    return `${first.path} (${first.reason})`;
  }

  /**
   * A tampered copy of an image: every other running instance of it is judged first (its own deep
   * check, incident and evidence), then the controller removes them all and fetches the image anew.
   * Once per digest at a time; a detector that finds more meanwhile joins this one.
   */
  private renewImage(digest: `sha256:${string}`, reason: string): Promise<void> {
    const images = this.options.images;
    if (!images) return Promise.resolve();
    const pending = this.renewing.get(digest);
    if (pending) return pending;
    const renewal = (async () => {
      const others = (await this.options.engine.list()).filter(
        (one) =>
          one.digest === digest &&
          one.state === 'running' &&
          !this.handled.has(one.id) &&
          this.options.templateOf(one).kind !== 'no-fleet',
      );
      for (const other of others) {
        if (this.abort.signal.aborted) return;
        await this.deepCheck(other).catch((error) =>
          this.log.warn(
            { id: other.id, err: String(error) },
            'deep check of an instance of a tampered image failed',
          ),
        );
      }
      if (this.abort.signal.aborted) return;
      const outcome = await images.reloadImage(digest, { reason });
      this.log.warn({ digest, outcome }, "the engine's copy of an image was changed; fetched it anew");
    })()
      .catch((error) =>
        this.log.warn({ digest, err: String(error) }, 'could not fetch a tampered image anew'),
      )
      .finally(() => this.renewing.delete(digest));
    this.renewing.set(digest, renewal);
    return renewal;
  }

  /**
   * Instances that wait for a deep check before they take traffic (made after their image was
   * fetched anew): checked at once, in the background; a clean one is let through.
   */
  private startVerifications(instances: readonly Instance[]): void {
    const images = this.options.images;
    if (!images) return;
    for (const instance of instances) {
      if (instance.state !== 'running' || this.handled.has(instance.id)) continue;
      if (this.verifying.has(instance.id) || !images.awaitsVerification(instance)) continue;
      const check = this.deepCheck(instance)
        .then((report) => {
          if (!report.trusted || report.findings.length > 0) return;
          this.log.info(
            { id: instance.id, service: instance.service, entries: report.entries },
            'instance verified against its file manifest before taking traffic',
          );
          images.verified(instance.service, instance.id);
        })
        // Not verified, so still out of traffic; the next pass tries again.
        .catch((error) =>
          this.log.warn({ id: instance.id, err: String(error) }, 'verifying a new instance failed'),
        )
        .finally(() => this.verifying.delete(instance.id));
      this.verifying.set(instance.id, check);
    }
  }

  /**
   * The periodic deep check: every fleet's interval, one of its running instances picked at random
   * (an intruder cannot tell which one is next), one check at a time across fleets, off the fast
   * path's clock. A fleet is checked as soon as the monitor first sees it, then every interval.
   */
  private startDueDeepCheck(instances: readonly Instance[]): void {
    if (this.deepRunning) return;
    const now = this.clock.now();
    const byService = new Map<string, Instance[]>();
    for (const one of instances) {
      // Like the fast path, only instances of a fleet: others are not herd's to judge or replace.
      if (one.state !== 'running' || this.handled.has(one.id)) continue;
      if (this.options.templateOf(one).kind === 'no-fleet') continue;
      byService.set(one.service, [...(byService.get(one.service) ?? []), one]);
    }
    let due: { service: string; last: number; candidates: Instance[] } | undefined;
    for (const [service, candidates] of byService) {
      const every =
        this.options.deepIntervalOf?.(service) ?? this.options.deepIntervalMs ?? defaultDeepIntervalMs;
      // Never checked by this monitor: due at once. The holds and marks of a reload live in the
      // controller's memory, so a control plane killed mid-reload comes back to a fleet made from
      // the changed copy; this first check, not one an interval later, is what finds it.
      const last = this.lastDeep.get(service) ?? Number.NEGATIVE_INFINITY;
      if (every <= 0) continue;
      if (now - last >= every && (!due || last < due.last)) due = { service, last, candidates };
    }
    if (!due) return;
    const random = this.options.random ?? Math.random;
    const index = Math.min(due.candidates.length - 1, Math.floor(random() * due.candidates.length));
    const picked = due.candidates[index];
    if (!picked) return;
    this.lastDeep.set(due.service, now);
    this.deepRunning = this.deepCheck(picked)
      .catch((error) => this.log.warn({ id: picked.id, err: String(error) }, 'deep integrity check failed'))
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
    const writableRoot = template.kind === 'known' && template.writableRoot === true;
    const context = { baseline: trusted.baseline, expected };
    const result = await verifyFilesystem(this.options.engine, instance.id, {
      ...context,
      headBytes: evidenceLimits.headBytes,
      signal: this.abort.signal,
    });
    const { findings } = result;
    if (findings.length > 0) {
      // On a writable root the workload's own upper layer explains some changes; what it does not
      // explain is in the image's layers.
      const upperLayer = writableRoot
        ? new Set((await this.options.engine.changes(instance.id)).map((change) => change.path))
        : undefined;
      const inImage = this.holdIfInImage(instance, findings, {
        expected,
        writableRoot,
        ...(upperLayer ? { upperLayer } : {}),
      });
      await this.detected({ kind: 'drift', instance, source: 'deep', findings });
      if (inImage) void this.renewImage(instance.digest, `deep path: ${inImage}`);
    }
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
  ): Promise<{ baseline: Baseline; expected: ExpectedPaths; writableRoot: boolean } | undefined> {
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
    return {
      baseline: trusted.baseline,
      expected: expectedPaths(template.writable),
      writableRoot: template.writableRoot === true,
    };
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
    if (this.options.held?.(detection.instance.id)) return;
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

  /**
   * Exec events, for as long as the monitor runs; a broken stream is followed again after a pause.
   * From the last event handled (kept in herd.db), so what happened while herd was down, or while
   * the stream was broken, is replayed; an exec already recorded opens no second incident.
   */
  private async followExecs(signal: AbortSignal): Promise<void> {
    const cursor = this.options.eventCursor;
    while (!signal.aborted) {
      try {
        const since = cursor?.read();
        for await (const event of this.options.engine.events(signal, since !== undefined ? { since } : {})) {
          // Not skipped when already handled: an exec on a drifted instance is its own incident.
          if (event.kind === 'exec') await this.execDetected(event.id, event.command);
          // Only once handled: a crash before this line replays the event.
          if (event.cursor !== undefined) cursor?.write(event.cursor);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn({ err: String(error) }, 'engine events broke; following them again');
        await new Promise<void>((resolve) => this.clock.setTimer(1000, resolve));
      }
    }
  }

  /** An exec session on an instance of a fleet: an incident, whenever it happened. */
  private async execDetected(id: string, command: string | undefined): Promise<void> {
    const instance = (await this.options.engine.list()).find((one) => one.id === id);
    if (!instance || this.options.templateOf(instance).kind === 'no-fleet') return;
    await this.detected({ kind: 'exec', instance, ...(command ? { command } : {}) });
  }
}

/** An instance of a fleet labelled with a template herd never stored is judged as untrusted. */
function unknownTemplate(reason: string): Extract<TrustedBaseline, { kind: 'untrusted' }> {
  return { kind: 'untrusted', code: 'TEMPLATE_UNKNOWN', reason };
}
