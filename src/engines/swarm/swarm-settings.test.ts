import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../engine.js';
import { swarmSettingsFrom } from './swarm-settings.js';

describe('swarmSettingsFrom', () => {
  it('is no swarm when HERD_SWARM_MANAGER is unset', () => {
    assert.equal(swarmSettingsFrom({}), undefined);
  });

  it('reads the manager and each node socket by address', () => {
    assert.deepEqual(
      swarmSettingsFrom({
        HERD_SWARM_MANAGER: 'unix:///run/n1/docker.sock',
        HERD_SWARM_NODES: '10.0.0.11=/run/n1/docker.sock, 10.0.0.12=unix:///run/n2/docker.sock',
      }),
      {
        managerSocket: '/run/n1/docker.sock',
        nodeSockets: { '10.0.0.11': '/run/n1/docker.sock', '10.0.0.12': '/run/n2/docker.sock' },
      },
    );
  });

  it('refuses a relative socket, an entry without an address, and nodes without a manager, naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ HERD_SWARM_MANAGER: 'docker.sock' }, /^HERD_SWARM_MANAGER "docker.sock": expected an absolute/],
      [
        { HERD_SWARM_MANAGER: '/m.sock', HERD_SWARM_NODES: '/n1.sock' },
        /^HERD_SWARM_NODES entry "\/n1.sock": expected/,
      ],
      [
        { HERD_SWARM_MANAGER: '/m.sock', HERD_SWARM_NODES: 'node1=/n1.sock' },
        /^HERD_SWARM_NODES entry "node1=\/n1.sock"/,
      ],
      [{ HERD_SWARM_NODES: '10.0.0.11=/n1.sock' }, /without HERD_SWARM_MANAGER/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => swarmSettingsFrom(env),
        (error: unknown) => error instanceof EngineError && message.test(error.message),
        JSON.stringify(env),
      );
    }
  });
});
