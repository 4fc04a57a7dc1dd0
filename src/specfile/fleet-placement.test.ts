import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetSection } from './fleet-section.js';

describe('fleet.placement', () => {
  it('takes Swarm placement constraints, and leaves placement out when there are none', () => {
    const section = FleetSection.parse({
      placement: { constraints: ['node.labels.zone==east', 'node.role != manager'] },
    });

    assert.deepEqual(section.placement, { constraints: ['node.labels.zone==east', 'node.role != manager'] });
    assert.equal(FleetSection.parse({ placement: { constraints: [] } }).placement, undefined);
    assert.equal(FleetSection.parse({}).placement, undefined);
  });

  it('refuses a constraint that is not one node condition, naming what it expected', () => {
    for (const hostile of [
      'node.labels.zone==east,node.role==manager',
      'engine.labels.x==1',
      'node.hostname==',
      'node.labels.zone=~east',
    ]) {
      const result = FleetSection.safeParse({ placement: { constraints: [hostile] } });

      assert.equal(result.success, false, hostile);
      assert.match(
        JSON.stringify(result.error?.issues),
        /expected a node condition such as node\.labels\.zone==east/,
      );
      assert.deepEqual(result.error?.issues[0]?.path, ['placement', 'constraints', 0]);
    }
    assert.equal(
      FleetSection.safeParse({ placement: { spread: 'node.id' } }).success,
      false,
      'an unknown field',
    );
  });
});
