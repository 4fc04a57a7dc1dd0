/**
 * bench/scale's simulation, apart from its printing so that a test runs it at a tiny size: fleets
 * on a MemoryEngine of many nodes, a fake clock and a seeded random source (a run replays exactly).
 *
 * 1. set-up: every fleet rolled out to a first revision from nothing, passes until all complete;
 * 2. quiet passes: nothing to do but observe, check what is due and plan;
 * 3. the rollout: every fleet rolled out to a second revision at once, one full reconcile pass per
 *    simulated second until every fleet completed, with random crashes each second and, at
 *    `nodeLossAt`, a node lost with every instance on it;
 * 4. settle passes with nothing injected, then the end state is checked.
 *
 * Checked throughout: the rollout bounds at every create and removal (bounds-checked-engine.ts),
 * and after every pass the spread within each fleet and the load of every node (fleet-invariants.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { FakeClock } from '../../src/common/clock.test-support.js';
import { FleetController } from '../../src/fleet/controller.js';
import { template } from '../../src/fleet/controller.test-support.js';
import { resolveBounds } from '../../src/fleet/rollout-arithmetic.js';
import { pick, seededRandom } from '../../src/fleet/seeded-random.test-support.js';
import type { FleetEvent, FrontDoorHook } from '../../src/fleet/types.js';
import { openStateDb } from '../../src/state/open-state-db.js';
import { BoundsCheckedEngine } from './bounds-checked-engine.js';
import {
  endStateViolations,
  fleetSpreadViolations,
  nodeLoadBound,
  nodeLoadViolations,
  nodeSkew,
} from './fleet-invariants.js';

export interface ScaleOptions {
  nodes: number;
  fleets: number;
  /** Instances per fleet. */
  size: number;
  seed: number;
  /** Instances that crash each simulated second of the rollout, anywhere. */
  crashesPerSecond: number;
  /** The simulated second of the rollout at which a node is lost. */
  nodeLossAt: number;
  /** Quiet passes timed before the rollout. */
  quietPasses: number;
  /** The rollout fails the run when it is not complete after this many simulated seconds. */
  maxSeconds: number;
  /** Runs `node -e 0` every this many passes, between them, as the machine's yardstick; 0: never. */
  peerEvery: number;
  /** Told of each phase as it ends, for a long run's progress. */
  progress?: (line: string) => void;
}

export const defaultScaleOptions: ScaleOptions = {
  nodes: 5000,
  fleets: 1000,
  size: 100,
  seed: 42,
  crashesPerSecond: 20,
  nodeLossAt: 5,
  quietPasses: 5,
  maxSeconds: 300,
  peerEvery: 5,
};

/** One full reconcile pass (`controller.sync()` over every fleet). */
export interface PassTime {
  wallMs: number;
  /** CPU time of this process (user + system) during the pass. */
  cpuMs: number;
}

export interface ScaleReport {
  options: ScaleOptions;
  setup: { passes: PassTime[]; instances: number };
  quiet: PassTime[];
  rollout: {
    passes: PassTime[];
    /** Simulated seconds until every fleet completed. */
    seconds: number;
    /** CPU of the rollout calls and of every pass until every fleet completed. */
    cpuMs: number;
    wallMs: number;
    crashes: number;
    created: number;
    removed: number;
    nodeLost: string | undefined;
    lostInstances: number;
    peakInstances: number;
  };
  /** After the set-up (at `setup.instances`): heap after gc when exposed, RSS, and the peak RSS. */
  memory: { heapBefore: number; heapSettled: number; rss: number; maxRss: number; gc: boolean };
  /**
   * Node totals: the bound no node may pass (fleet-invariants.ts `nodeLoadBound`, at the end's
   * nodes up), the most any node held after any pass, and the end's spread. The skew (most −
   * fewest) is reported, not bounded: the controller picks what to remove by revision and
   * readiness, not by node, and instances are never moved, so a rollout leaves some nodes emptier.
   */
  spread: {
    bound: number | undefined;
    most: number;
    end: { most: number; fewest: number; skew: number };
    upNodes: number;
  };
  /** `node -e 0`'s wall time, run between passes. */
  peers: number[];
  violations: { bounds: string[]; spread: string[]; end: string[] };
}

const strategy = { maxSurge: '25%', maxUnavailable: '25%', minReadySeconds: 2 } as const;
const healthIntervalSeconds = 2;

/** CPU time of this process, in ms: steadier than the wall clock on a machine others share. */
export const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

export async function simulateScale(options: ScaleOptions): Promise<ScaleReport> {
  const { fleets, size, progress } = options;
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => {
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  const random = seededRandom(options.seed);
  const clock = new FakeClock();
  const services = Array.from({ length: fleets }, (_, index) => `svc-${String(index).padStart(4, '0')}`);
  /** Each fleet's instances by address (node host, then port), for the prober. */
  const byAddress = new Map<string, Map<number, string>>();
  const engine = new BoundsCheckedEngine(
    // Ties between equally loaded nodes broken at random, as kube-scheduler does; seeded, so it replays.
    { now: () => clock.now(), nodes: options.nodes, placementRandom: seededRandom(options.seed + 1) },
    {
      sizeOf: () => size,
      strategy,
      onCreate: (instance) => {
        if (!instance.address) return;
        let ports = byAddress.get(instance.address.host);
        if (!ports) {
          ports = new Map();
          byAddress.set(instance.address.host, ports);
        }
        ports.set(instance.address.port, instance.id);
      },
    },
  );
  const counts = { created: 0, removed: 0 };
  const inRollout = new Set<string>();
  const record = (event: FleetEvent) => {
    if (event.kind === 'rollout-started') inRollout.add(event.service);
    else if (event.kind === 'rollout-complete' || event.kind === 'rollout-failed')
      inRollout.delete(event.service);
    else if (event.kind === 'instance-created') counts.created++;
    else if (event.kind === 'instance-removed') counts.removed++;
  };
  // A front door that only hears what it is told: its cost is not the controller's.
  const frontDoor: FrontDoorHook = { setBackends() {}, async drain() {} };
  const heapBefore = heap();
  const controller = new FleetController({
    engine,
    db: openStateDb(':memory:'),
    clock,
    frontDoor,
    // Every instance passes: the bench times the controller, not failing revisions (bench/controller does).
    prober: {
      check: async (address) => {
        const id = byAddress.get(address.host)?.get(address.port);
        if (id === undefined) return false;
        engine.markReady(id);
        return true;
      },
    },
    admit: async () => {},
    imageRefFor: (service, digest) => `registry.example/${service}@${digest}`,
    record,
  });
  const fleetTemplate = template(
    { size, strategy: { ...template().fleet.strategy, ...strategy } },
    healthIntervalSeconds,
  );
  const maxTotal = resolveBounds(size, strategy).maxTotal;
  const revisions = [revisionOf('first'), revisionOf('second')] as const;

  const violations = { bounds: engine.violations, spread: [] as string[], end: [] as string[] };
  const peers: number[] = [];
  let passCount = 0;
  let most = 0;
  const timedPass = async (into: PassTime[]) => {
    const cpuBefore = cpuMs();
    const started = performance.now();
    await controller.sync();
    into.push({ wallMs: performance.now() - started, cpuMs: cpuMs() - cpuBefore });
    passCount++;
    if (options.peerEvery > 0 && passCount % options.peerEvery === 0) peers.push(peerMs());
    checkSpread();
  };
  const fleetBounds = services.map(() => ({ maxTotal }));
  const checkSpread = () => {
    const nodes = engine.nodes();
    most = Math.max(most, nodeSkew(nodes).most);
    const bound = nodeLoadBound(nodes.filter((node) => node.up).length, fleetBounds);
    const found = [
      ...(bound === undefined ? [] : nodeLoadViolations(nodes, bound)),
      ...fleetSpreadViolations(
        nodes,
        services.map((service) => ({ service, maxTotal, live: engine.liveOf(service).values() })),
      ),
    ];
    violations.spread.push(...found);
  };

  // ---- 1. set-up: every fleet from nothing to the first revision ----
  for (const service of services)
    await controller.rollout(service, revisions[0], { template: fleetTemplate });
  const setup: PassTime[] = [];
  while (inRollout.size > 0) {
    if (setup.length > options.maxSeconds)
      throw new Error(
        `${inRollout.size} fleets still rolling out after ${options.maxSeconds} simulated seconds of set-up`,
      );
    await timedPass(setup);
    clock.advance(1000);
  }
  const settled = engine.liveTotal();
  const heapSettled = heap();
  const rssSettled = process.memoryUsage().rss;
  progress?.(`set-up: ${settled} instances on ${options.nodes} nodes after ${setup.length} passes`);

  // ---- 2. quiet passes ----
  const quiet: PassTime[] = [];
  for (let index = 0; index < options.quietPasses; index++) {
    await timedPass(quiet);
    clock.advance(1000);
  }

  // ---- 3. the rollout: every fleet at once, with crashes and a node lost ----
  counts.created = 0;
  counts.removed = 0;
  const passes: PassTime[] = [];
  const cpuStarted = cpuMs();
  const wallStarted = performance.now();
  for (const service of services) await controller.rollout(service, revisions[1]);
  let rolloutCpu = cpuMs() - cpuStarted;
  let crashes = 0;
  let nodeLost: string | undefined;
  let lostInstances = 0;
  let peakInstances = engine.liveTotal();
  let second = 0;
  for (; inRollout.size > 0; second++) {
    if (second >= options.maxSeconds) {
      violations.end.push(
        `${inRollout.size} fleets still rolling out after ${options.maxSeconds} simulated seconds`,
      );
      break;
    }
    clock.advance(1000);
    for (let index = 0; index < options.crashesPerSecond; index++) {
      const service = pick(random, services);
      // A crash of the new revision fails its rollout by design (the fleet reverts, as
      // bench/controller shows); here a fleet still rolling out loses one of its old instances.
      const ids = [...engine.liveOf(service).values()]
        .filter((one) => !inRollout.has(service) || one.revision !== revisions[1].revision)
        .map((one) => one.id);
      if (ids.length === 0) continue;
      engine.crash(pick(random, ids), 137);
      crashes++;
    }
    if (second === options.nodeLossAt) {
      const up = engine.nodes().filter((node) => node.up);
      nodeLost = pick(random, up).name;
      lostInstances = engine.failNode(nodeLost).length;
    }
    await timedPass(passes);
    rolloutCpu += passes.at(-1)?.cpuMs ?? 0;
    peakInstances = Math.max(peakInstances, engine.liveTotal());
  }
  const rolloutWall = performance.now() - wallStarted;
  const created = counts.created;
  const removed = counts.removed;
  progress?.(`rollout: complete after ${second} simulated seconds, ${passes.length} passes`);

  // ---- 4. settle (crashed instances wait out their fleet's crash backoff), then the end state ----
  const settle: PassTime[] = [];
  const whole = () => services.every((service) => engine.liveOf(service).size === size);
  while (!whole() && settle.length < options.maxSeconds) {
    clock.advance(1000);
    await timedPass(settle);
  }
  const ends = [];
  for (const service of services) {
    const status = await controller.status(service);
    const live = [...engine.liveOf(service).values()];
    ends.push({ service, status: status.status, revision: status.revision, size, live });
  }
  violations.end.push(...endStateViolations(ends, () => revisions[1].revision));
  const nodes = engine.nodes();
  const upNodes = nodes.filter((node) => node.up).length;

  return {
    options,
    setup: { passes: setup, instances: settled },
    quiet,
    rollout: {
      passes,
      seconds: second,
      cpuMs: rolloutCpu,
      wallMs: rolloutWall,
      crashes,
      created,
      removed,
      nodeLost,
      lostInstances,
      peakInstances,
    },
    memory: {
      heapBefore,
      heapSettled,
      rss: rssSettled,
      maxRss: process.resourceUsage().maxRSS * 1024,
      gc: gc !== undefined,
    },
    spread: {
      bound: nodeLoadBound(upNodes, fleetBounds),
      most,
      end: nodeSkew(nodes),
      upNodes,
    },
    peers,
    violations,
  };
}

function revisionOf(name: string): { revision: string; digest: `sha256:${string}` } {
  const hex = createHash('sha256').update(`revision ${name}`).digest('hex');
  return { revision: hex.slice(0, 8), digest: `sha256:${hex}` };
}

/** `node -e 0`'s wall time, in ms. */
export function peerMs(): number {
  const started = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - started;
}

/** The value at `fraction` of the sorted values (0.5: the median). */
export function quantile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}
