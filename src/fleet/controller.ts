/**
 * The fleet controller: makes each service's instances match its desired state in herd.db. Each sync
 * observes (engine.list, health checks), decides (planRollout, assessRollout: pure) and applies
 * (drain, remove, create), then persists the rollout's progress. A failed rollout reverts to the last
 * revision that completed. State that matters survives a crash: the desired state and history are in
 * SQLite, the instances carry labels, so a new controller over the same engine and database adopts
 * what runs and carries on, without duplicates.
 */
import type { Database } from 'better-sqlite3';
import { type Clock, type Logger, silentLogger, systemClock } from '../common/index.js';
import type { Engine, Instance } from '../engines/index.js';
import { applyPlan } from './apply-plan.js';
import { autoscaledInstances } from './autoscale-samples.js';
import { FleetAutoscaler, rolloutSize } from './autoscale-step.js';
import { bakeOf, blueGreenFleetOf, isBlueGreen, madeFrom } from './blue-green-state.js';
import {
  type BackoffPolicy,
  defaultBackoffPolicy,
  isDegraded,
  mayCreate,
  recordCrashes,
} from './crash-backoff.js';
import { FleetError } from './errors.js';
import {
  countCrashes,
  countRolloutFailures,
  type FleetMemory,
  forgetRollout,
  newFleetMemory,
  turnedDegraded,
  withWatchMarks,
} from './fleet-memory.js';
import { describeFleet } from './fleet-status.js';
import { FleetStore, type HistoryEntry, type StoredFleet } from './fleet-store.js';
import { startupProbeMs } from './health-state.js';
import { type ImageReload, imageHoldMs, reloadCooldownMs, reloadImage } from './image-reload.js';
import { instanceSpecFor } from './instance-spec.js';
import { type InstanceTemplate, InstanceTemplates } from './instance-templates.js';
import { judgeBake } from './judge-bake.js';
import { judgeRollout } from './judge-rollout.js';
import { planBlueGreen } from './plan-blue-green.js';
import { planSync } from './plan-sync.js';
import { chooseFrontDoor, type QuarantineOutcome, quarantineOutcomeOf } from './quarantine.js';
import { SyncLoop } from './sync-loop.js';
import type { FleetEvent, FleetStatus, FleetTemplate, FrontDoorHook, HealthProber } from './types.js';

export interface FleetControllerOptions {
  engine: Engine;
  /** herd.db, opened with openStateDb (migration 3 holds the fleet tables). */
  db: Database;
  prober: HealthProber;
  /**
   * Throws to refuse a digest (unsigned, unreleased, revoked, gate failed, or `template`, the one
   * it would run with, differs from its signed run template). `actor` is who asked, when someone
   * did (a rollout or rollback), for the journal.
   */
  admit: (
    service: string,
    digest: `sha256:${string}`,
    context: { actor?: string; template: FleetTemplate },
  ) => Promise<void>;
  /** Where the engine pulls the image from, by digest. */
  imageRefFor: (service: string, digest: `sha256:${string}`) => string;
  frontDoor?: FrontDoorHook;
  clock?: Clock;
  /** Secrets and other values from herd's environment, merged at create; never stored or recorded. */
  environmentFor?: (service: string, names: readonly string[]) => Record<string, string>;
  /** For the journal. */
  record?: (event: FleetEvent) => void | Promise<void>;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Default 2000 ms. */
  resyncMs?: number;
  backoff?: BackoffPolicy;
}

export class FleetController {
  private readonly store: FleetStore;
  private readonly templates: InstanceTemplates;
  private readonly clock: Clock;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly policy: BackoffPolicy;
  private readonly memories = new Map<string, FleetMemory>();
  private readonly loop: SyncLoop;
  private readonly autoscaler: FleetAutoscaler;
  /** Digests whose engine copy the watch found changed: no creates until fetched anew (since when). */
  private readonly imageHolds = new Map<string, number>();
  /** Digests fetched anew, and when: their new instances wait for a deep check before traffic. */
  private readonly reloadedAt = new Map<string, number>();
  /**
   * Digests whose hold lapsed without a reload: the copy may still be the changed one, so their
   * new instances wait for a deep check before traffic too, as after a reload.
   */
  private readonly lapsedHolds = new Set<string>();
  /** Digests of kept revisions (blue-green) that admission refused, and when it last did. */
  private readonly refusedDigests = new Map<string, number>();

  constructor(private readonly options: FleetControllerOptions) {
    this.store = new FleetStore(options.db);
    this.templates = new InstanceTemplates(this.store);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.policy = options.backoff ?? defaultBackoffPolicy;
    this.autoscaler = new FleetAutoscaler({
      engine: options.engine,
      ...(options.frontDoor ? { frontDoor: options.frontDoor } : {}),
      save: (fleet, now) => this.store.save(fleet, { now }),
      emit: (event) => this.emit(event),
      log: this.log,
    });
    this.loop = new SyncLoop(() => this.syncEach(), {
      engine: options.engine,
      clock: this.clock,
      resyncMs: options.resyncMs ?? 2000,
      log: this.log,
    });
  }

  /** Follows engine events and resyncs on the timer; the first sync adopts whatever runs. */
  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Resolves once no sync is running or asked for. */
  whenIdle(): Promise<void> {
    return this.loop.idle();
  }

  /** One sync of one fleet, or of every fleet; serialized with the loop's own syncs. */
  sync(service?: string): Promise<void> {
    return this.loop.exclusive(() => (service === undefined ? this.syncEach() : this.syncFleet(service)));
  }

  /**
   * Moves the fleet to `target`. Refuses (and changes nothing) when the engine is unreachable, the
   * digest is not admitted or the image cannot be had. A first rollout needs the template; a template
   * also brings its `fleet.size`, without one the fleet keeps its current size. `actor` (who asked)
   * goes to the journal with the rollout.
   */
  async rollout(
    service: string,
    target: { revision: string; digest: `sha256:${string}` },
    options: { template?: FleetTemplate; actor?: string } = {},
  ): Promise<void> {
    const { actor } = options;
    await this.options.engine.info();
    // Admission sees the template the rollout would run with, not only the digest.
    const admitted = options.template ?? this.store.get(service)?.template;
    if (!admitted) throw templateMissing(service);
    await this.options.admit(service, target.digest, { ...(actor ? { actor } : {}), template: admitted });
    const imageRef = this.options.imageRefFor(service, target.digest);
    await this.options.engine.ensureImage({ imageRef, digest: target.digest });
    // Read and written between syncs, never across one: a sync that read the fleet before this
    // rollout would otherwise save its stale copy over it.
    await this.loop.exclusive(async () => {
      const existing = this.store.get(service);
      // The template admitted, even when another rollout changed the stored one meanwhile.
      const template = admitted;
      // An autoscaled fleet keeps the size its autoscaler chose (autoscale-step.ts).
      const size = options.template
        ? rolloutSize(existing?.size, template)
        : (existing?.size ?? template.fleet.size);
      await this.startRollout({ service, ...target, size, template, status: 'progressing' }, 'rollout', {
        actor,
      });
    });
  }

  /** Rolls back to the latest revision that completed before the current one. */
  rollback(service: string, options: { actor?: string } = {}): Promise<HistoryEntry> {
    return this.loop.exclusive(() => this.rollbackNow(service, options.actor));
  }

  private async rollbackNow(service: string, actor: string | undefined): Promise<HistoryEntry> {
    const fleet = this.fleetOf(service);
    const good = this.store.lastGood(service, fleet.revision);
    if (!good) {
      throw new FleetError(
        'NO_PREVIOUS_REVISION',
        `${service} has no earlier revision that completed a rollout`,
      );
    }
    await this.options.admit(service, good.digest, { ...(actor ? { actor } : {}), template: good.template });
    const { revision, digest, template } = good;
    await this.startRollout({ ...fleet, revision, digest, template, status: 'progressing' }, 'rollback', {
      actor,
    });
    return good;
  }

  /**
   * Pauses the fleet's rollout, as `kubectl rollout pause`: no instance is made or removed to move
   * it from one revision to another (plan-paused.ts), and its progress deadline does not run; it
   * still scales, and crashed, unhealthy or condemned instances are still replaced. A rollout asked
   * for while paused is admitted and waits. Kept in herd.db across restarts. False when it already was.
   */
  pause(service: string, options: { actor: string }): Promise<boolean> {
    return this.loop.exclusive(async () => {
      const fleet = this.fleetOf(service);
      if (fleet.paused) return false;
      this.store.setPaused(service, { at: this.clock.now(), actor: options.actor });
      const { revision, status } = fleet;
      await this.emit({ kind: 'paused', service, revision, status, actor: options.actor });
      return true;
    });
  }

  /** Lets a paused rollout go on; its progress deadline counts from now. False when it was not paused. */
  resume(service: string, options: { actor: string }): Promise<boolean> {
    return this.loop.exclusive(async () => {
      const fleet = this.fleetOf(service);
      if (!fleet.paused) return false;
      const now = this.clock.now();
      this.store.setPaused(service, undefined);
      // As Kubernetes: time spent paused is not time without progress.
      if (fleet.rollout)
        this.store.save({ ...fleet, rollout: { ...fleet.rollout, progressAt: now } }, { now });
      this.memoryOf(service).mark = undefined;
      const { revision, status } = fleet;
      await this.emit({ kind: 'resumed', service, revision, status, actor: options.actor });
      this.loop.request();
      return true;
    });
  }

  async scale(service: string, size: number, options: { actor?: string } = {}): Promise<void> {
    if (!Number.isInteger(size) || size < 0 || size > 10_000) {
      throw new FleetError('SIZE_INVALID', `expected a size from 0 to 10000 for ${service}, got ${size}`);
    }
    await this.loop.exclusive(async () => {
      const fleet = this.fleetOf(service);
      if (fleet.size === size) return;
      this.store.save({ ...fleet, size }, { now: this.clock.now() });
      const { actor } = options;
      await this.emit({ kind: 'scaled', service, from: fleet.size, to: size, ...(actor ? { actor } : {}) });
      this.loop.request();
    });
  }

  async status(service: string): Promise<FleetStatus> {
    const fleet = this.fleetOf(service);
    const now = this.clock.now();
    const memory = this.memoryOf(service);
    const instances = await this.options.engine.list({ service });
    const health = withWatchMarks(memory, memory.health.describe(instances, fleet.template));
    const degraded = isDegraded(memory.backoff, { now, policy: this.policy });
    const serving = this.options.frontDoor?.serving?.(service);
    const autoscale = this.autoscaler.statusOf(service, fleet.template);
    const bake = isBlueGreen(fleet) ? bakeOf(fleet, { store: this.store, now }) : undefined;
    return describeFleet(fleet, {
      ...(autoscale ? { autoscale } : {}),
      ...(bake ? { bake } : {}),
      instances,
      health,
      now,
      degraded,
      ...(serving ? { serving: new Set(serving.map((one) => `${one.host}:${one.port}`)) } : {}),
    });
  }

  /**
   * Removes every instance of every fleet, draining each first; the desired state stays, so the next
   * start brings the fleets back. For `herd up`, whose Ctrl-C means "stop what I started".
   */
  async removeAllInstances(): Promise<void> {
    for (const fleet of this.store.list()) {
      const timeoutSeconds = fleet.template.fleet.drainSeconds;
      const instances = await this.options.engine.list({ service: fleet.service });
      await Promise.all(
        instances.map(async (instance) => {
          if (instance.address)
            await this.options.frontDoor?.drain(fleet.service, instance.address, { timeoutSeconds });
          await this.options.engine.remove(instance.id);
        }),
      );
    }
  }

  /**
   * The one way to take an instance out of service because something is wrong with it (drift, an
   * exec session, a process off the allowlist, a deep-check mismatch, a debug session). It leaves
   * the front door now, before any sync, and never comes back (in-flight requests finish); only
   * when no other instance of the fleet is ready does it keep serving until its replacement is, and
   * the outcome says so. A pristine replacement starts at the next sync, within the rollout bounds,
   * and the instance is removed once the replacement is ready. `hold`: the instance is also left
   * out of the fleet's plan and never removed by the controller (whoever holds it removes it).
   * Asking again, or for an instance already gone, changes nothing.
   */
  async quarantine(
    service: string,
    id: string,
    options: { reason: string; hold?: boolean },
  ): Promise<QuarantineOutcome> {
    const fleet = this.fleetOf(service);
    const memory = this.memoryOf(service);
    if (!memory.condemned.has(id)) {
      memory.condemned.set(id, options.reason);
      this.log.warn({ service, id, reason: options.reason }, 'instance quarantined; replacing it');
    }
    if (options.hold) memory.held.add(id);
    // A new instance that failed its first deep check: counted like a crash, so a copy that keeps
    // changing backs the fleet's creates off instead of making and condemning one a second.
    if (memory.unverified.delete(id)) {
      memory.backoff = recordCrashes(memory.backoff, {
        count: 1,
        now: this.clock.now(),
        policy: this.policy,
      });
    }
    // From the last sync's list and the health already known, not through a sync or the engine: a
    // sync may be busy for seconds (a drain, a slow check), and the instance must leave now.
    const instances = memory.instances.some((one) => one.id === id)
      ? memory.instances
      : await this.options.engine.list({ service });
    const observed = withWatchMarks(memory, memory.health.describe(instances, fleet.template));
    const choice = chooseFrontDoor(observed);
    for (const leaving of choice.leaving) {
      memory.leftDoor.add(leaving);
      const address = instances.find((one) => one.id === leaving)?.address;
      // Draining marks it out of rotation at once; a sync that still lists it cannot bring it back.
      if (address) {
        void this.options.frontDoor?.drain(service, address, {
          timeoutSeconds: fleet.template.fleet.drainSeconds,
        });
      }
    }
    this.loop.request();
    return quarantineOutcomeOf(choice, id);
  }

  /**
   * The watch found the engine's copy of `digest` changed (src/watch/image-tampering.ts): no new
   * instance of it until `reloadImage` has run, so no replacement comes from the changed copy.
   */
  holdImage(digest: `sha256:${string}`): void {
    if (!this.imageHolds.has(digest)) this.imageHolds.set(digest, this.clock.now());
  }

  /**
   * Removes every instance of `digest` (drained), removes the image from the engine and fetches it
   * again from herd's registry (image-reload.ts), between syncs; the fleets then make instances of
   * it again, each of them out of traffic until the watch's deep check passes it (`verified`).
   * Refused within {@link reloadCooldownMs} of the last reload of the same digest.
   */
  async reloadImage(digest: `sha256:${string}`, options: { reason: string }): Promise<ImageReload> {
    const last = this.reloadedAt.get(digest);
    if (last !== undefined && this.clock.now() - last < reloadCooldownMs) {
      this.imageHolds.delete(digest);
      this.loop.request();
      const ago = Math.round((this.clock.now() - last) / 1000);
      return { kind: 'skipped', reason: `fetched anew ${ago} s ago: something on the host changes it again` };
    }
    this.holdImage(digest);
    return this.loop.exclusive(async () => {
      try {
        const fleets = this.store.list();
        const done = await reloadImage(digest, {
          engine: this.options.engine,
          ...(this.options.frontDoor ? { frontDoor: this.options.frontDoor } : {}),
          services: fleets.filter((fleet) => fleet.digest === digest).map((fleet) => fleet.service),
          drainSecondsOf: (service) =>
            fleets.find((fleet) => fleet.service === service)?.template.fleet.drainSeconds ?? 0,
          imageRefFor: this.options.imageRefFor,
        });
        this.reloadedAt.set(digest, this.clock.now());
        const gone = new Set(done.removed.map((one) => one.id));
        for (const service of done.services) {
          const memory = this.memoryOf(service);
          memory.instances = memory.instances.filter((one) => !gone.has(one.id));
          const removed = done.removed.filter((one) => one.service === service).map((one) => one.id);
          await this.emit({ kind: 'image-reloaded', service, digest, removed, reason: options.reason });
        }
        this.log.warn(
          { digest, removed: done.removed.length, reason: options.reason },
          "the engine's copy of an image was changed; its instances were removed and it was fetched anew",
        );
        return { kind: 'reloaded', removed: done.removed.map((one) => one.id) };
      } catch (error) {
        this.log.warn({ digest, err: error }, 'could not fetch a changed image anew');
        return { kind: 'failed', reason: (error as Error).message };
      } finally {
        this.imageHolds.delete(digest);
        this.loop.request();
      }
    });
  }

  /** Whether the instance waits for a clean deep check before it may take traffic. */
  awaitsVerification(instance: Pick<Instance, 'id' | 'service'>): boolean {
    return this.memories.get(instance.service)?.unverified.has(instance.id) ?? false;
  }

  /** The watch's deep check passed the instance: it takes traffic once its health checks pass. */
  verified(service: string, id: string): void {
    if (this.memories.get(service)?.unverified.delete(id)) this.loop.request();
  }

  /** The instance's file manifest did not verify: it is never counted ready (fail closed). */
  markUntrusted(service: string, id: string): void {
    this.fleetOf(service);
    this.memoryOf(service).untrusted.add(id);
    this.loop.request();
  }

  /** The template a fleet's instances are made from; undefined when there is no such fleet. */
  templateOf(service: string): FleetTemplate | undefined {
    return this.store.get(service)?.template;
  }

  /**
   * The run template `instance` was made from, by its label's digest: what the watch judges it
   * against, whatever the fleet's template is now.
   */
  instanceTemplate(instance: Pick<Instance, 'service' | 'revision' | 'labels'>): InstanceTemplate {
    return this.templates.of(instance);
  }

  /** The services that have a fleet. */
  services(): string[] {
    return this.store.list().map((fleet) => fleet.service);
  }

  history(service: string): HistoryEntry[] {
    return this.store.history(service);
  }

  private async syncEach(): Promise<void> {
    for (const fleet of this.store.list()) await this.syncFleet(fleet.service);
  }

  private async syncFleet(service: string): Promise<void> {
    let fleet = this.store.get(service);
    if (!fleet) return;
    const { engine } = this.options;
    const memory = this.memoryOf(service);
    const now = this.clock.now();
    const instances = await engine.list({ service });
    const checked = withWatchMarks(
      memory,
      await memory.health.observe(instances, { template: fleet.template, now }),
    );
    // Condemned instances leave the front door for good, unless no other instance is ready.
    const door = chooseFrontDoor(checked);
    for (const id of door.leaving) memory.leftDoor.add(id);
    const observed = door.leaving.length > 0 ? withWatchMarks(memory, checked) : checked;

    countCrashes(memory, { instances: observed, now, policy: this.policy });
    // A paused rollout is neither judged nor timed (resume restarts its deadline).
    if (inRollout(fleet) && !fleet.paused) {
      countRolloutFailures(memory, fleet.revision, observed);
      fleet = await judgeRollout(fleet, {
        memory,
        observation: { instances: observed, now },
        store: this.store,
        emit: (event) => this.emit(event),
        revert: (failing, failed) => this.revert(failing, failed),
      });
    } else if (isBlueGreen(fleet)) {
      fleet = await judgeBake(fleet, {
        observation: { instances: observed, now },
        store: this.store,
        emit: (event) => this.emit(event),
        revert: (failing, failed) => this.revert(failing, failed),
      });
    }

    // Once per sync period, an autoscaled fleet's size follows its metrics (autoscale-step.ts),
    // measured on the instances that serve (a blue-green fleet's active revision).
    const sampled = autoscaledInstances(
      fleet.template.fleet.autoscale && isBlueGreen(fleet) ? blueGreenFleetOf(fleet, this.store) : undefined,
      { instances, observed },
    );
    fleet = await this.autoscaler.step(fleet, { instances, observed, now, sampled });

    // Blue-green also chooses which ready instances serve: the active revision's only.
    const blueGreen = isBlueGreen(fleet)
      ? planBlueGreen(blueGreenFleetOf(fleet, this.store), { instances: observed, now }, door.serving)
      : undefined;
    const actions =
      blueGreen?.actions ??
      planSync(
        {
          revision: fleet.revision,
          size: fleet.size,
          strategy: fleet.template.fleet.strategy,
          knownRevisions: this.store.knownRevisions(service),
          ...syncKnobs(fleet),
        },
        { instances: observed, now },
      ).actions;
    const target = fleet;
    // A blue-green fleet also makes instances of the revision it serves or bakes.
    const sourceOf = (revision: string) => madeFrom(target, revision, this.store);
    const refused = await this.refusedSources(
      service,
      actions.flatMap((action) =>
        action.kind === 'create' && action.revision !== target.revision ? [action.revision] : [],
      ),
      { sourceOf, now },
    );
    const mayMake = (revision: string) => {
      const source = sourceOf(revision);
      return source !== undefined && !refused.has(revision) && !this.imageHeld(source.digest, now);
    };
    const result = await applyPlan(
      actions.filter(
        (action) => action.kind !== 'create' || (mayCreate(memory.backoff, now) && mayMake(action.revision)),
      ),
      {
        service,
        engine,
        ...(this.options.frontDoor ? { frontDoor: this.options.frontDoor } : {}),
        drainSeconds: fleet.template.fleet.drainSeconds,
        instances,
        ready: new Set((blueGreen?.serving ?? door.serving).map((one) => one.id)),
        specForCreate: (revision) => {
          const source = sourceOf(revision) ?? target;
          return instanceSpecFor(source, {
            imageRef: this.options.imageRefFor(service, source.digest),
            environment: this.options.environmentFor?.(service, source.template.fromEnvironment ?? []) ?? {},
          });
        },
        record: (event) => this.emit(event),
      },
    );
    const removed = new Set(result.removed);
    memory.instances = [...instances.filter((one) => !removed.has(one.id)), ...result.created];
    // Made from a copy fetched anew: out of traffic until the watch's deep check passes it.
    for (const one of result.created)
      if (this.reloadedAt.has(one.digest) || this.lapsedHolds.has(one.digest)) memory.unverified.add(one.id);
    if (result.createFailures.length > 0) {
      memory.backoff = recordCrashes(memory.backoff, {
        count: result.createFailures.length,
        now,
        policy: this.policy,
      });
      // An image the engine will not start is as bad for the rollout as one that exits.
      if (inRollout(fleet)) {
        for (const [index, failure] of result.createFailures.entries())
          if (failure.revision === fleet.revision) memory.rolloutFailures.add(`create-${now}-${index}`);
      }
    }
    // A starting instance is checked at the startup pace, so a replacement serves as soon as it answers.
    if (result.created.length > 0 || memory.health.starting(instances, fleet.template))
      this.loop.soon(startupProbeMs);
    if (turnedDegraded(memory, { now, policy: this.policy })) {
      this.log.warn(
        { service, crashes: memory.backoff.crashes },
        'fleet is crash-looping; creates are backed off',
      );
      await this.emit({ kind: 'degraded', service, crashes: memory.backoff.crashes });
    }
  }

  /**
   * Starts the revert of a failed rollout (or of a blue-green revision that failed while the old fleet
   * baked), when auto-revert is on and a good revision is still admitted; never of a failing revert.
   */
  private async revert(fleet: StoredFleet, failed: Omit<HistoryEntry, 'seq' | 'at'>) {
    const good =
      fleet.status !== 'reverting' && fleet.template.fleet.strategy.autoRevert
        ? await this.revertTarget(fleet)
        : undefined;
    return (
      good && this.startRollout({ ...fleet, ...good, status: 'reverting' }, 'revert', { earlier: [failed] })
    );
  }

  /** The last good revision, if it is still admitted (it may have been revoked since). */
  private async revertTarget(fleet: StoredFleet) {
    const good = this.store.lastGood(fleet.service, fleet.revision);
    if (!good) return undefined;
    try {
      await this.options.admit(fleet.service, good.digest, { template: good.template });
    } catch (error) {
      this.log.warn(
        { service: fleet.service, revision: good.revision, err: error },
        'last good revision refused; not reverting',
      );
      return undefined;
    }
    return { revision: good.revision, digest: good.digest, template: good.template };
  }

  private async startRollout(
    fleet: Omit<StoredFleet, 'rollout'>,
    reason: 'rollout' | 'rollback' | 'revert',
    options: { earlier?: Omit<HistoryEntry, 'seq' | 'at'>[]; actor?: string | undefined } = {},
  ): Promise<StoredFleet> {
    const { earlier = [], actor } = options;
    const now = this.clock.now();
    const next: StoredFleet = { ...fleet, rollout: { startedAt: now, progressAt: now } };
    const { service, revision, digest, template } = next;
    this.store.save(next, {
      now,
      history: [...earlier, { revision, digest, outcome: 'started', reason, template }],
    });
    forgetRollout(this.memoryOf(service));
    await this.emit({
      kind: 'rollout-started',
      service,
      revision,
      digest,
      reason,
      ...(actor ? { actor } : {}),
    });
    this.loop.request();
    return next;
  }

  /**
   * The revisions other than the fleet's own that admission refuses now. A blue-green fleet makes
   * instances of the revision it serves or bakes; that digest may have been revoked since it was
   * rolled out, and nothing that admission would refuse may start. A refusal is asked again after
   * {@link sourceRecheckMs}, so a revoked digest is not journaled as refused on every sync.
   */
  private async refusedSources(
    service: string,
    revisions: readonly string[],
    context: {
      sourceOf: (revision: string) => { digest: `sha256:${string}`; template: FleetTemplate } | undefined;
      now: number;
    },
  ): Promise<Set<string>> {
    const refused = new Set<string>();
    for (const revision of new Set(revisions)) {
      const source = context.sourceOf(revision);
      if (!source) continue;
      const since = this.refusedDigests.get(source.digest);
      if (since !== undefined && context.now - since < sourceRecheckMs) {
        refused.add(revision);
        continue;
      }
      try {
        await this.options.admit(service, source.digest, { template: source.template });
        this.refusedDigests.delete(source.digest);
      } catch (error) {
        this.refusedDigests.set(source.digest, context.now);
        refused.add(revision);
        this.log.warn(
          { service, revision, digest: source.digest, err: error },
          'admission refuses a revision the fleet keeps; no instance of it is made',
        );
      }
    }
    return refused;
  }

  /** Whether creates of `digest` wait for its reload; a hold nobody followed up lapses. */
  private imageHeld(digest: string, now: number): boolean {
    const since = this.imageHolds.get(digest);
    if (since === undefined) return false;
    if (now - since < imageHoldMs) return true;
    this.imageHolds.delete(digest);
    this.lapsedHolds.add(digest);
    this.log.warn(
      { digest },
      'an image was held for a reload that never came; making instances again, each deep-checked before traffic',
    );
    return false;
  }

  private fleetOf(service: string): StoredFleet {
    const fleet = this.store.get(service);
    if (!fleet) throw new FleetError('FLEET_NOT_FOUND', `no fleet for ${service}: expected a rollout first`);
    return fleet;
  }

  private memoryOf(service: string): FleetMemory {
    let memory = this.memories.get(service);
    if (!memory) {
      memory = newFleetMemory(this.options.prober);
      this.memories.set(service, memory);
    }
    return memory;
  }

  private async emit(event: FleetEvent): Promise<void> {
    await this.options.record?.(event);
  }
}

/** What plan-sync.ts needs beyond the rolling planner: strategy type, lifetime, rollout, pause. */
function syncKnobs(fleet: StoredFleet) {
  const { type } = fleet.template.fleet.strategy;
  const { maxLifetimeSeconds } = fleet.template.fleet;
  return {
    ...(type ? { type } : {}),
    ...(maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds } : {}),
    inRollout: inRollout(fleet),
    paused: fleet.paused !== undefined,
  };
}

/** How long a kept revision's refusal stands before admission is asked again. */
const sourceRecheckMs = 60_000;

function inRollout(fleet: StoredFleet): boolean {
  return fleet.status === 'progressing' || fleet.status === 'reverting';
}

function templateMissing(service: string): FleetError {
  return new FleetError(
    'TEMPLATE_MISSING',
    `no fleet for ${service} yet: expected its template with the first rollout`,
  );
}
