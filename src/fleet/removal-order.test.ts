import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countPerNode, removalOrder } from './removal-order.js';

interface One {
  id: string;
  node?: string;
  condemned?: boolean;
}

const byId = (a: One, b: One) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const oneTier = () => 0;

/** The first `count` ids in removal order. */
function take(
  candidates: One[],
  count: number,
  options: { perNode: Map<string, number>; tier?: (one: One) => number },
) {
  const taken: string[] = [];
  for (const one of removalOrder(candidates, {
    perNode: options.perNode,
    tier: options.tier ?? oneTier,
    order: byId,
  })) {
    if (taken.length === count) break;
    taken.push(one.id);
  }
  return taken;
}

describe('removalOrder', () => {
  it('takes from the node holding the most of the fleet first', () => {
    const fleet = [
      { id: 'a', node: 'n1' },
      { id: 'b', node: 'n2' },
      { id: 'c', node: 'n2' },
      { id: 'd', node: 'n3' },
    ];

    assert.deepEqual(take(fleet, 1, { perNode: countPerNode(fleet) }), ['b']);
  });

  it('counts a node down as its instances go: two of 3, 3 and 1 come one from each crowded node', () => {
    const fleet = [
      { id: 'a1', node: 'a' },
      { id: 'a2', node: 'a' },
      { id: 'a3', node: 'a' },
      { id: 'b1', node: 'b' },
      { id: 'b2', node: 'b' },
      { id: 'b3', node: 'b' },
      { id: 'c1', node: 'c' },
    ];

    assert.deepEqual(take(fleet, 2, { perNode: countPerNode(fleet) }), ['a1', 'b1']);
    assert.deepEqual(take(fleet, 7, { perNode: countPerNode(fleet) }), [
      'a1',
      'b1',
      'a2',
      'b2',
      'a3',
      'b3',
      'c1',
    ]);
  });

  it("keeps the planner's tiers first: a condemned instance on a quiet node goes before any other", () => {
    const fleet = [
      { id: 'a', node: 'n1' },
      { id: 'b', node: 'n1' },
      { id: 'c', node: 'n2', condemned: true },
    ];

    const order = take(fleet, 3, { perNode: countPerNode(fleet), tier: (one) => (one.condemned ? 0 : 1) });

    assert.deepEqual(order, ['c', 'a', 'b']);
  });

  it('counts the whole fleet, not only the candidates, and leaves the counts as they were for what was not taken', () => {
    const fleet = [
      { id: 'new1', node: 'n1' },
      { id: 'new2', node: 'n1' },
      { id: 'old1', node: 'n1' },
      { id: 'old2', node: 'n2' },
    ];
    const perNode = countPerNode(fleet);

    const first = take(
      fleet.filter((one) => one.id.startsWith('old')),
      1,
      { perNode },
    );

    assert.deepEqual(first, ['old1']);
    assert.deepEqual(Object.fromEntries(perNode), { n1: 2, n2: 1 });
  });

  it('keeps the planner order alone when no instance has a node', () => {
    const fleet: One[] = [{ id: 'c' }, { id: 'a' }, { id: 'b' }];

    assert.deepEqual(take(fleet, 3, { perNode: countPerNode(fleet) }), ['a', 'b', 'c']);
  });
});
