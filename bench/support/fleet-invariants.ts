/**
 * What bench/scale checks besides the rollout bounds (bounds-checked-engine.ts), as pure functions
 * of what the bench counted, so a test can feed them a broken state and see them fail.
 */
import type { Instance } from '../../src/engines/index.js';

export interface NodeCount {
  name: string;
  up: boolean;
  instances: number;
}

/**
 * Spread within a fleet: no up node holds more of a fleet's live instances than its share of the
 * most the fleet may have (size + surge) over the up nodes, rounded up. Spread placement keeps this
 * by construction: while a fleet has fewer than that most, some node holds less than the share, and
 * the new instance goes to the node with the fewest of its fleet; removals only lower counts.
 */
export function fleetSpreadViolations(
  nodes: readonly NodeCount[],
  fleets: Iterable<{ service: string; maxTotal: number; live: Iterable<Pick<Instance, 'id' | 'node'>> }>,
): string[] {
  const up = new Set(nodes.filter((node) => node.up).map((node) => node.name));
  const violations: string[] = [];
  for (const fleet of fleets) {
    const share = Math.ceil(fleet.maxTotal / Math.max(1, up.size));
    const perNode = new Map<string, number>();
    for (const instance of fleet.live) {
      if (instance.node === undefined || !up.has(instance.node)) {
        violations.push(
          `${fleet.service}: ${instance.id} is live on ${instance.node ?? 'no node'}, not on a node that is up`,
        );
        continue;
      }
      const count = (perNode.get(instance.node) ?? 0) + 1;
      perNode.set(instance.node, count);
      if (count === share + 1)
        violations.push(
          `${fleet.service}: ${instance.node} holds more than ${share} of its instances, its share of ${fleet.maxTotal} over ${up.size} nodes`,
        );
    }
  }
  return violations;
}

/** The most and fewest instances any up node holds, and their difference (the skew). */
export function nodeSkew(nodes: readonly NodeCount[]): { most: number; fewest: number; skew: number } {
  let most = 0;
  let fewest = Number.POSITIVE_INFINITY;
  for (const node of nodes) {
    if (!node.up) continue;
    most = Math.max(most, node.instances);
    fewest = Math.min(fewest, node.instances);
  }
  if (fewest === Number.POSITIVE_INFINITY) fewest = 0;
  return { most, fewest, skew: most - fewest };
}

/**
 * The most instances spread placement lets onto one node, while no fleet exceeds size + surge and
 * every fleet's size + surge is below the nodes up (else undefined: no such bound is claimed).
 * A new instance goes to the emptiest node among those holding none of its fleet: at least
 * up − (maxTotal − 1) of them, holding at most `most` − 1 instances together (the new one is not
 * live yet), so the emptiest holds at most (most − 1) / that, rounded down, before it gets one more.
 * `most` is the sum of every fleet's size + surge.
 */
export function nodeLoadBound(upNodes: number, fleets: readonly { maxTotal: number }[]): number | undefined {
  let most = 0;
  let largest = 0;
  for (const fleet of fleets) {
    most += fleet.maxTotal;
    largest = Math.max(largest, fleet.maxTotal);
  }
  const candidates = upNodes - (largest - 1);
  if (largest >= upNodes || candidates <= 0) return undefined;
  return Math.floor(Math.max(0, most - 1) / candidates) + 1;
}

/** Spread over the nodes: no up node holds more than `bound` instances. */
export function nodeLoadViolations(nodes: readonly NodeCount[], bound: number): string[] {
  return nodes
    .filter((node) => node.up && node.instances > bound)
    .slice(0, 10)
    .map((node) => `${node.name} holds ${node.instances} instances, above the spread's bound of ${bound}`);
}

export interface FleetEnd {
  service: string;
  status: string;
  revision: string;
  size: number;
  live: readonly Pick<Instance, 'id' | 'revision'>[];
}

/** Every fleet ends complete on `revision`, with exactly `size` live instances, all of it. */
export function endStateViolations(
  fleets: Iterable<FleetEnd>,
  revisionOf: (service: string) => string,
): string[] {
  const violations: string[] = [];
  for (const fleet of fleets) {
    const revision = revisionOf(fleet.service);
    if (fleet.status !== 'complete' || fleet.revision !== revision)
      violations.push(
        `${fleet.service}: ends ${fleet.status} on ${fleet.revision}, expected complete on ${revision}`,
      );
    const onRevision = fleet.live.filter((one) => one.revision === revision).length;
    if (onRevision !== fleet.size || fleet.live.length !== fleet.size)
      violations.push(
        `${fleet.service}: ends with ${fleet.live.length} live instances, ${onRevision} of ${revision}, expected ${fleet.size}, all of it`,
      );
  }
  return violations;
}
