/**
 * bench/scale: the fleet controller at 100,000 instances on 5,000 nodes, simulated. 1,000 fleets of
 * 100 instances run on the MemoryEngine given 5,000 nodes (instances spread onto them as Swarm and
 * Kubernetes' topology spread do, ties between equally loaded nodes broken at random as
 * kube-scheduler does), with a fake clock and seeded random sources, so a run replays exactly
 * (bench/support/scale-simulation.ts).
 *
 * What is simulated: the engine (creates, removals, lists in memory; no processes), health checks
 * (a fake prober that passes every instance), the front door (told its backends, drains at once),
 * time (a fake clock moved 1 s between passes; health checks every 2 s, minReadySeconds 2, maxSurge
 * and maxUnavailable 25%). Real: the controller (src/fleet, unchanged), its herd.db (SQLite in
 * memory), its planning and its bookkeeping.
 *
 * What is timed: one full reconcile pass, `controller.sync()`: every fleet's desired state read from
 * herd.db, its instances listed from the engine, the checks that are due run, the plan made and
 * applied (creates and removals on the engine, placement included), progress saved. The bench's
 * own invariant hooks on creates and removals and the fake prober run inside it (a map lookup
 * each); crash injection, the node loss and the spread checks run between passes, untimed.
 *
 * Phases: set-up (every fleet from nothing to a first revision), quiet passes at 100,000, then a
 * rollout of a second revision across every fleet at once, to completion, with 20 random crashes a
 * simulated second (exit 137, of a random fleet: an old instance while the fleet still rolls out,
 * since a crash of the new revision fails a rollout by design and the fleet reverts, which
 * bench/controller shows; any instance once it completed) and one node lost (every instance on it
 * gone, as removed behind herd's back) 5 s in; then passes until every fleet is back at its size
 * (crashed instances wait out their fleet's crash backoff), and the end state is checked.
 *
 * It prints:
 * - CPU and wall time per full pass (p50, p95, max) for the set-up, the quiet passes and the
 *   rollout, beside `node -e 0` run between passes (the machine is shared: compare ratios);
 * - the CPU of the whole rollout (the rollout calls and every pass until every fleet completed);
 * - memory per instance: heap after gc (the whole process: engine, herd.db, controller) and RSS at
 *   100,000 instances, and the peak RSS of the run (getrusage's, as /usr/bin/time -v reports it);
 * - the invariant check, exit 1 when broken: at every create and removal no fleet above size + surge
 *   or, by a removal, below size − unavailable available; after every pass no node holding more of
 *   a fleet than its share of size + surge over the nodes up, and no node above the load spread
 *   placement guarantees (26 here: bench/support/fleet-invariants.ts `nodeLoadBound`); at the end
 *   every fleet complete on the new revision with exactly its size live. The skew of node totals
 *   (most − fewest) is printed, not bounded: what a rollout removes is chosen by revision and
 *   readiness, not by node, and an instance is never moved, so some nodes end emptier.
 *
 *   node --expose-gc --import tsx bench/scale.ts [--nodes 5000] [--fleets 1000] [--size 100] [--seed 42]
 *     [--crashes 20] [--node-loss-at 5] [--quiet-passes 5]
 */
import { loadavg } from 'node:os';
import {
  defaultScaleOptions,
  type PassTime,
  quantile,
  type ScaleOptions,
  simulateScale,
} from './support/scale-simulation.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} ${argv[at + 1]}: expected a whole number`);
  return value;
};
const options: ScaleOptions = {
  ...defaultScaleOptions,
  nodes: option('nodes', defaultScaleOptions.nodes),
  fleets: option('fleets', defaultScaleOptions.fleets),
  size: option('size', defaultScaleOptions.size),
  seed: option('seed', defaultScaleOptions.seed),
  crashesPerSecond: option('crashes', defaultScaleOptions.crashesPerSecond),
  nodeLossAt: option('node-loss-at', defaultScaleOptions.nodeLossAt),
  quietPasses: option('quiet-passes', defaultScaleOptions.quietPasses),
  progress: (line) => console.log(`  … ${line}`),
};
if (!(globalThis as { gc?: unknown }).gc)
  console.warn('run with node --expose-gc for the heap figures (npm run bench:scale does)');

console.log(
  `bench/scale: ${options.fleets} fleets × ${options.size} instances on ${options.nodes} nodes, seed ${options.seed}`,
);
const report = await simulateScale(options);
const { rollout, memory, spread, violations } = report;

const ms = (value: number) => `${value.toFixed(1)} ms`;
const peer = quantile(report.peers, 0.5);
const line = (name: string, passes: readonly PassTime[]) => {
  const cpu = passes.map((one) => one.cpuMs);
  const wall = passes.map((one) => one.wallMs);
  const of = (values: number[]) =>
    `p50 ${ms(quantile(values, 0.5))}, p95 ${ms(quantile(values, 0.95))}, max ${ms(quantile(values, 1))}`;
  console.log(`  ${name} (${passes.length} passes): cpu ${of(cpu)}; wall ${of(wall)}`);
};
console.log(
  `  rollout: ${rollout.seconds} simulated seconds, ${rollout.crashes} crashes, node ${rollout.nodeLost ?? 'none'} lost with ${rollout.lostInstances} instances, ${rollout.created} creates, ${rollout.removed} removals, ${rollout.peakInstances} instances at most`,
);
console.log('one full reconcile pass (controller.sync over every fleet):');
line(`set-up, from 0 to ${report.setup.instances} instances`, report.setup.passes);
line(`quiet, ${report.setup.instances} instances`, report.quiet);
line('the rollout', rollout.passes);
console.log(
  `  peer: node -e 0 takes ${ms(peer)} (median of ${report.peers.length}, between passes); rollout pass p50 wall / peer ${(
    quantile(
      rollout.passes.map((one) => one.wallMs),
      0.5,
    ) / peer
  ).toFixed(2)}; load average ${loadavg()
    .map((one) => one.toFixed(1))
    .join(' ')}`,
);
console.log(
  `the whole rollout: ${(rollout.cpuMs / 1000).toFixed(2)} s cpu, ${(rollout.wallMs / 1000).toFixed(2)} s wall (rollout calls and passes; crash injection and checks between passes included in wall)`,
);
const perInstance = (bytes: number) => `${(bytes / report.setup.instances).toFixed(0)} bytes`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
console.log(`memory at ${report.setup.instances} instances:`);
if (memory.gc)
  console.log(
    `  heap after gc, whole process (memory engine, herd.db, controller): ${mb(memory.heapSettled)}, ${perInstance(memory.heapSettled - memory.heapBefore)} per instance over the empty start`,
  );
console.log(
  `  rss: ${mb(memory.rss)} (${perInstance(memory.rss)} per instance); peak rss of the run: ${mb(memory.maxRss)}`,
);
console.log(
  `spread: at most ${spread.most} instances on a node after any pass (bound ${spread.bound ?? 'none claimed'}); at the end ${spread.end.fewest} to ${spread.end.most} per node over ${spread.upNodes} nodes up (skew ${spread.end.skew}, reported, not bounded: removals do not look at nodes and instances never move)`,
);
const broken = violations.bounds.length + violations.spread.length + violations.end.length;
console.log(
  `invariants: bounds (≤ size + surge at every create, ≥ size − unavailable available at every removal) ${verdict(violations.bounds)}; spread (per fleet on each node, and each node's load, after every pass) ${verdict(violations.spread)}; end (every fleet complete on the new revision at its size) ${verdict(violations.end)}`,
);
for (const violation of [...violations.bounds, ...violations.spread, ...violations.end].slice(0, 10))
  console.log(`  ${violation}`);
process.exitCode = broken === 0 ? 0 : 1;

function verdict(found: readonly string[]): string {
  return found.length === 0 ? 'held' : `broken ${found.length} times`;
}
