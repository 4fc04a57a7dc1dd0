/**
 * Where the memory engine puts an instance when it has nodes: spread, as Docker Swarm's spread
 * strategy and Kubernetes' topology spread over hostnames (maxSkew 1) do. The node with the fewest
 * instances of the same service wins, then the one with the fewest instances overall; among nodes
 * still tied, one at random when a random source is given (kube-scheduler picks at random among
 * its best-scored nodes), else the first in the order kept (at the start, the order given). Only
 * nodes that are up and match every constraint are eligible.
 *
 * The random pick matters at scale: filled in a fixed order, every node holds instances of the same
 * rank in their fleets (each fleet's first, or each fleet's last), and a rollout, which removes
 * each fleet's instances in rank order, empties whole nodes at once while others stay full.
 *
 * Counts are kept as they change, never recounted: bench/scale places 100,000 instances and more on
 * 5,000 nodes, so a create must not walk every node. Nodes are kept in buckets by how many
 * instances they hold, and a service's spread is read from its own counts.
 */
import { EngineError } from '../engine.js';

/** A node as the engine is given it; `labels` are what constraints match (Swarm's `node.labels.*`). */
export interface NodeSpec {
  name: string;
  labels?: Record<string, string>;
}

/**
 * One placement rule, as Swarm writes them (`node.labels.zone==east`, `node.hostname!=n2`): the
 * node's label `key` (or its name, for `node.hostname`) equals, or differs from, `value`.
 */
export interface NodeConstraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

interface NodeState {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Instances placed on it and not yet released. */
  total: number;
  up: boolean;
  /** Its index in the bucket of its total, while up. */
  slot: number;
}

/** One service's instances per node, and how many up nodes hold each count above 0. */
interface ServiceSpread {
  counts: Map<NodeState, number>;
  /** levels[c]: up nodes holding exactly c instances of the service (c ≥ 1). */
  levels: number[];
  /** Up nodes holding at least one. */
  used: number;
}

export class NodePlacement {
  private readonly nodes = new Map<string, NodeState>();
  /** Up nodes by their total: byTotal[n] holds the nodes with n instances (order: see `leave`). */
  private readonly byTotal: NodeState[][] = [];
  /** No up node holds fewer instances than this. */
  private lowest = 0;
  private upCount = 0;
  private readonly services = new Map<string, ServiceSpread>();

  constructor(
    nodes: readonly NodeSpec[],
    private readonly options: { random?: () => number } = {},
  ) {
    for (const node of nodes) {
      if (this.nodes.has(node.name))
        throw new EngineError('OTHER', `node ${node.name} is given twice: expected unique node names`);
      const state: NodeState = { name: node.name, labels: { ...node.labels }, total: 0, up: true, slot: 0 };
      this.nodes.set(node.name, state);
      this.enter(state);
      this.upCount++;
    }
  }

  /**
   * The node for a new instance of `service`, counted on it at once; undefined when no node is up
   * and matches `constraints`.
   */
  place(service: string, constraints: readonly NodeConstraint[] = []): string | undefined {
    const node =
      constraints.length === 0 ? this.spreadAnywhere(service) : this.spreadAmong(service, constraints);
    if (!node) return undefined;
    this.count(node, service, +1);
    return node.name;
  }

  /** The instance of `service` on `node` is gone (exited or removed): it no longer counts there. */
  release(service: string, node: string): void {
    const state = this.nodes.get(node);
    if (state && (this.services.get(service)?.counts.get(state) ?? 0) > 0) this.count(state, service, -1);
  }

  /** The node stops taking instances; the engine removes what ran on it first, so it holds none. */
  down(node: string): void {
    const state = this.known(node);
    if (!state.up) return;
    this.setUp(state, false);
  }

  /** The node takes instances again (empty: what ran on it went with it). */
  up(node: string): void {
    const state = this.known(node);
    if (state.up) return;
    this.setUp(state, true);
  }

  /** Every node, in the order given: whether it is up and how many instances it holds. */
  snapshot(): { name: string; up: boolean; instances: number }[] {
    return [...this.nodes.values()].map((node) => ({ name: node.name, up: node.up, instances: node.total }));
  }

  /** Whether `node` is one of the engine's nodes. */
  has(node: string): boolean {
    return this.nodes.has(node);
  }

  /** The common case: every up node is eligible, so the buckets give the answer in a few steps. */
  private spreadAnywhere(service: string): NodeState | undefined {
    if (this.upCount === 0) return undefined;
    const spread = this.services.get(service);
    // The fewest of this service any up node holds: 0 while some up node holds none.
    let fewest = 0;
    if (spread && spread.used >= this.upCount) {
      fewest = 1;
      while (fewest < spread.levels.length && (spread.levels[fewest] ?? 0) === 0) fewest++;
    }
    for (let total = this.lowest; total < this.byTotal.length; total++) {
      const bucket = this.byTotal[total] ?? [];
      const start = this.options.random ? Math.floor(this.options.random() * bucket.length) : 0;
      for (let step = 0; step < bucket.length; step++) {
        const node = bucket[(start + step) % bucket.length] as NodeState;
        if ((spread?.counts.get(node) ?? 0) === fewest) return node;
      }
    }
    return undefined;
  }

  /** With constraints: every node is looked at, since the eligible ones are a set of their own. */
  private spreadAmong(service: string, constraints: readonly NodeConstraint[]): NodeState | undefined {
    const counts = this.services.get(service)?.counts;
    let best: NodeState | undefined;
    let bestOfService = 0;
    for (const node of this.nodes.values()) {
      if (!node.up || !constraints.every((constraint) => matches(node, constraint))) continue;
      const ofService = counts?.get(node) ?? 0;
      if (!best || ofService < bestOfService || (ofService === bestOfService && node.total < best.total)) {
        best = node;
        bestOfService = ofService;
      }
    }
    return best;
  }

  private count(node: NodeState, service: string, by: 1 | -1): void {
    let spread = this.services.get(service);
    if (!spread) {
      spread = { counts: new Map(), levels: [], used: 0 };
      this.services.set(service, spread);
    }
    const before = spread.counts.get(node) ?? 0;
    const after = before + by;
    if (after === 0) spread.counts.delete(node);
    else spread.counts.set(node, after);
    if (node.up) {
      this.levelOf(spread, before, -1);
      this.levelOf(spread, after, +1);
      if (before === 0) spread.used++;
      else if (after === 0) spread.used--;
      this.move(node, node.total + by);
    } else node.total += by;
  }

  private levelOf(spread: ServiceSpread, level: number, by: 1 | -1): void {
    if (level > 0) spread.levels[level] = (spread.levels[level] ?? 0) + by;
  }

  /** Moves an up node to the bucket of its new total. */
  private move(node: NodeState, total: number): void {
    this.leave(node);
    node.total = total;
    this.enter(node);
    this.raiseLowest();
  }

  /** Puts an up node last in the bucket of its total. */
  private enter(node: NodeState): void {
    let bucket = this.byTotal[node.total];
    if (!bucket) {
      bucket = [];
      this.byTotal[node.total] = bucket;
    }
    node.slot = bucket.length;
    bucket.push(node);
    if (node.total < this.lowest) this.lowest = node.total;
  }

  /** Takes a node out of its bucket in constant time: the bucket's last node takes its slot. */
  private leave(node: NodeState): void {
    const bucket = this.byTotal[node.total];
    const last = bucket?.pop();
    if (!bucket || !last || last === node) return;
    bucket[node.slot] = last;
    last.slot = node.slot;
  }

  private setUp(node: NodeState, up: boolean): void {
    node.up = up;
    const by = up ? 1 : -1;
    this.upCount += by;
    for (const spread of this.services.values()) {
      const held = spread.counts.get(node) ?? 0;
      if (held === 0) continue;
      spread.levels[held] = (spread.levels[held] ?? 0) + by;
      spread.used += by;
    }
    if (up) this.enter(node);
    else {
      this.leave(node);
      this.raiseLowest();
    }
  }

  private raiseLowest(): void {
    while (this.lowest < this.byTotal.length && (this.byTotal[this.lowest]?.length ?? 0) === 0) this.lowest++;
  }

  private known(node: string): NodeState {
    const state = this.nodes.get(node);
    if (!state)
      throw new EngineError('NOT_FOUND', `no node ${node} on the memory engine: expected one of its nodes`);
    return state;
  }
}

/**
 * A constraint as the spec writes it (`fleet.placement.constraints`, Swarm's syntax):
 * `node.labels.zone==east`, `node.hostname != n2`. Throws EngineError CREATE naming it otherwise.
 */
export function parseConstraint(text: string, service: string): NodeConstraint {
  const match = /^(node\.[A-Za-z0-9._-]+)\s*(==|!=)\s*(\S+)$/.exec(text.trim());
  if (!match?.[1] || !match[3]) {
    throw new EngineError(
      'CREATE',
      `placement constraint ${JSON.stringify(text)} of ${service}: expected node.<attribute>==<value> or !=`,
    );
  }
  return { key: match[1], op: match[2] === '!=' ? '!=' : '==', value: match[3] };
}

/**
 * Whether the node satisfies the constraint: `node.hostname` and `node.id` are its name,
 * `node.labels.<k>` its label k, any other attribute (`node.role`) a label of that full name.
 */
function matches(node: NodeState, constraint: NodeConstraint): boolean {
  const named = constraint.key === 'node.hostname' || constraint.key === 'node.id';
  const actual = named ? node.name : node.labels[labelKey(constraint.key)];
  return constraint.op === '==' ? actual === constraint.value : actual !== constraint.value;
}

function labelKey(key: string): string {
  return key.startsWith('node.labels.') ? key.slice('node.labels.'.length) : key;
}
