/**
 * The effects of one sync's plan, in an order that keeps the bounds at every instant: the front door
 * stops sending to leaving instances, they are drained and removed, and only then are new ones
 * created (the plan counted the removals when it sized the creates).
 */
import type { Engine, Instance, InstanceSpec } from '../engines/index.js';
import type { RolloutAction } from './plan-rollout.js';
import type { FleetEvent, FrontDoorHook } from './types.js';

export interface ApplyContext {
  service: string;
  engine: Engine;
  frontDoor?: FrontDoorHook;
  drainSeconds: number;
  /** The instances the plan was made from. */
  instances: readonly Instance[];
  /** The ids the front door may send to (ready and not quarantined, quarantine.ts). */
  ready: ReadonlySet<string>;
  /**
   * The spec of a new instance of `revision`: the desired one, or the one a blue-green fleet serves
   * or bakes (plan-blue-green.ts); called once per revision a sync creates.
   */
  specForCreate: (revision: string) => InstanceSpec;
  record: (event: FleetEvent) => Promise<void>;
}

export interface ApplyResult {
  created: Instance[];
  removed: string[];
  /** Create calls the engine refused; they count as crashes for the backoff. */
  createFailures: { revision: string; message: string }[];
}

export async function applyPlan(
  actions: readonly RolloutAction[],
  context: ApplyContext,
): Promise<ApplyResult> {
  const { service, engine, frontDoor } = context;
  const removals = actions.flatMap((action) => (action.kind === 'remove' ? [action] : []));
  // Only a sync that removes needs the instances by id; most syncs of most fleets remove nothing.
  const byId = new Map(
    removals.length === 0 ? [] : context.instances.map((instance) => [instance.id, instance] as const),
  );
  const leaving = new Set(removals.map((action) => action.id));

  const serving = context.instances.filter(
    (instance) => context.ready.has(instance.id) && !leaving.has(instance.id) && instance.address,
  );
  await frontDoor?.setBackends(
    service,
    serving.flatMap((instance) => (instance.address ? [instance.address] : [])),
  );

  await Promise.all(
    removals.map(async (action) => {
      const instance = byId.get(action.id);
      // Not only ready ones: a quarantined instance or one that just failed its checks left the
      // rotation, but requests it took before may still be running.
      if (instance?.address && instance.state === 'running') {
        await frontDoor?.drain(service, instance.address, { timeoutSeconds: context.drainSeconds });
      }
      await engine.remove(action.id);
      await context.record({
        kind: 'instance-removed',
        service,
        id: action.id,
        revision: instance?.revision ?? 'unknown',
        reason: action.reason,
      });
    }),
  );

  const result: ApplyResult = { created: [], removed: [...leaving], createFailures: [] };
  const counts = new Map<string, number>();
  for (const action of actions)
    if (action.kind === 'create')
      counts.set(action.revision, (counts.get(action.revision) ?? 0) + action.count);
  for (const [revision, count] of counts) if (count > 0) await create(context.specForCreate(revision), count);
  return result;

  async function create(spec: InstanceSpec, count: number): Promise<void> {
    const failed = async (error: unknown) => {
      const message = (error as Error).message;
      result.createFailures.push({ revision: spec.revision, message });
      await context.record({ kind: 'create-failed', service, revision: spec.revision, message });
    };
    try {
      await engine.ensureImage(spec);
    } catch (error) {
      await failed(error);
      return;
    }
    const outcomes = await Promise.allSettled(Array.from({ length: count }, () => engine.create(spec)));
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        await failed(outcome.reason);
        continue;
      }
      result.created.push(outcome.value);
      await context.record({
        kind: 'instance-created',
        service,
        id: outcome.value.id,
        revision: spec.revision,
      });
    }
  }
}
