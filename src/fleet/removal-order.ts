/**
 * The order in which the planner removes instances it may choose among (old revisions in a rollout,
 * the surplus of a scale-down), as Kubernetes' ReplicaSet controller ranks pods for deletion
 * (`getPodsToDelete`, `ActivePodsWithRanks`): after the planner's own tiers (condemned first, not
 * ready first), the instance on the node holding the most of the fleet's instances goes first, so
 * removals even the nodes out; then the planner's order (the one ready most recently first).
 *
 * Unlike Kubernetes, which ranks once, a node's count drops as its instances are taken, so removing
 * two of nodes holding 3, 3 and 1 takes one from each of the 3s, not both from one. Instances
 * without a node (an engine of one host) count as on no crowded node: the planner's order alone.
 * Pure.
 */
import type { ObservedInstance } from './plan-rollout.js';

/** How many of the fleet's instances each node holds. */
export function countPerNode(instances: Iterable<Pick<ObservedInstance, 'node'>>): Map<string, number> {
  const perNode = new Map<string, number>();
  for (const { node } of instances) if (node !== undefined) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  return perNode;
}

/**
 * `candidates` in removal order, lazily: lower `tier` first; within a tier, the most crowded node
 * first (counts from `perNode`), then `order`. An instance counts as removed from its node once the
 * caller asks for the next one (a loop that breaks before removing one leaves `perNode` as it was),
 * so one `perNode` serves several calls within a plan.
 */
export function* removalOrder<T extends Pick<ObservedInstance, 'node'>>(
  candidates: readonly T[],
  options: { perNode: Map<string, number>; tier: (instance: T) => number; order: (a: T, b: T) => number },
): Generator<T, void, undefined> {
  const { perNode, tier, order } = options;
  const sorted = [...candidates].sort((a, b) => tier(a) - tier(b) || order(a, b));
  let start = 0;
  while (start < sorted.length) {
    const level = tier(sorted[start] as T);
    let end = start;
    while (end < sorted.length && tier(sorted[end] as T) === level) end++;
    yield* byCrowding(sorted, { from: start, to: end, perNode });
    start = end;
  }
}

/** One tier, already in the planner's order: a heap of nodes by count, then by their next instance. */
function* byCrowding<T extends Pick<ObservedInstance, 'node'>>(
  sorted: readonly T[],
  range: { from: number; to: number; perNode: Map<string, number> },
): Generator<T, void, undefined> {
  const { from, to, perNode } = range;
  // Each node's instances, as indexes into `sorted`, in order; instances without a node are one group.
  const queues = new Map<string | undefined, number[]>();
  for (let index = from; index < to; index++) {
    const node = sorted[index]?.node;
    const queue = queues.get(node);
    if (queue) queue.push(index);
    else queues.set(node, [index]);
  }
  const crowdOf = (node: string | undefined) => (node === undefined ? 0 : (perNode.get(node) ?? 0));
  const heap = new NodeHeap();
  for (const [node, indexes] of queues) heap.push({ node, indexes, next: 0, crowd: crowdOf(node) });
  for (let entry = heap.pop(); entry; entry = heap.pop()) {
    const index = entry.indexes[entry.next] as number;
    yield sorted[index] as T;
    // Resumed: the caller removed it.
    if (entry.node !== undefined) perNode.set(entry.node, Math.max(0, crowdOf(entry.node) - 1));
    entry.next++;
    if (entry.next < entry.indexes.length) heap.push({ ...entry, crowd: crowdOf(entry.node) });
  }
}

interface NodeEntry {
  node: string | undefined;
  indexes: number[];
  next: number;
  crowd: number;
}

/** A binary heap: the most crowded node on top; among equals, the one whose next instance comes first. */
class NodeHeap {
  private readonly items: NodeEntry[] = [];

  push(entry: NodeEntry): void {
    const { items } = this;
    items.push(entry);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(items[at] as NodeEntry, items[parent] as NodeEntry)) break;
      [items[at], items[parent]] = [items[parent] as NodeEntry, items[at] as NodeEntry];
      at = parent;
    }
  }

  pop(): NodeEntry | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let first = at;
      if (left < items.length && before(items[left] as NodeEntry, items[first] as NodeEntry)) first = left;
      if (right < items.length && before(items[right] as NodeEntry, items[first] as NodeEntry)) first = right;
      if (first === at) return top;
      [items[at], items[first]] = [items[first] as NodeEntry, items[at] as NodeEntry];
      at = first;
    }
  }
}

function before(a: NodeEntry, b: NodeEntry): boolean {
  return a.crowd !== b.crowd
    ? a.crowd > b.crowd
    : (a.indexes[a.next] as number) < (b.indexes[b.next] as number);
}
