import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Instance } from '../engines/index.js';
import { autoscaledInstances } from './autoscale-samples.js';
import type { ObservedInstance } from './plan-rollout.js';

function listed(id: string, revision: string): Instance {
  return {
    id,
    service: 'web',
    revision,
    digest: `sha256:${'a'.repeat(64)}`,
    state: 'running',
    createdAt: 0,
    labels: {},
  };
}

const observed = (one: Instance): ObservedInstance => ({
  id: one.id,
  revision: one.revision,
  state: one.state,
  unhealthy: false,
});

const fleetOf = (...revisions: string[]) => {
  const instances = revisions.map((revision, index) => listed(`i${index}`, revision));
  return { instances, observed: instances.map(observed) };
};

const ids = (chosen: { instances: readonly Instance[]; observed: readonly ObservedInstance[] }) => [
  chosen.instances.map((one) => one.id).join(' '),
  chosen.observed.map((one) => one.id).join(' '),
];

describe('autoscaledInstances', () => {
  it("samples only a blue-green fleet's active revision: not the fleet baking, nor one starting beside it", () => {
    const all = fleetOf('r1', 'r2', 'r1', 'r2');

    assert.deepEqual(ids(autoscaledInstances({ active: 'r2' }, all)), ['i1 i3', 'i1 i3']);
    assert.deepEqual(ids(autoscaledInstances({ active: 'r1' }, all)), ['i0 i2', 'i0 i2']);
  });

  it('samples every instance of a rolling fleet, a first rollout, or one whose active revision has none left', () => {
    const all = fleetOf('r1', 'r2');

    assert.equal(autoscaledInstances(undefined, all), all);
    assert.equal(autoscaledInstances({}, all), all);
    assert.equal(autoscaledInstances({ active: 'r0' }, all), all);
  });
});
