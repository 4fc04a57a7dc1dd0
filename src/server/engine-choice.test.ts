import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../engines/index.js';
import { describeEngineChoice, engineChoiceFrom } from './engine-choice.js';

function settingsError(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof EngineError, String(error));
    assert.equal(error.code, 'SETTINGS');
    assert.match(error.message, message);
    return true;
  };
}

describe('engineChoiceFrom', () => {
  it('is podman when herd is given no swarm and no cluster', () => {
    assert.deepEqual(engineChoiceFrom({}), { kind: 'podman' });
  });

  it('is the swarm for HERD_SWARM_MANAGER', () => {
    assert.deepEqual(engineChoiceFrom({ HERD_SWARM_MANAGER: '/run/docker.sock' }), {
      kind: 'swarm',
      settings: { managerSocket: '/run/docker.sock', nodeSockets: {} },
    });
  });

  it('is the cluster for HERD_KUBECONFIG, in namespace herd unless told', () => {
    const choice = engineChoiceFrom({ HERD_KUBECONFIG: '/etc/herd/kubeconfig' });

    assert.deepEqual(choice, {
      kind: 'kubernetes',
      settings: { kubeconfig: '/etc/herd/kubeconfig', namespace: 'herd' },
    });
    assert.equal(
      describeEngineChoice(choice, '10.0.0.5:5000'),
      'engine: kubernetes, namespace herd of the cluster in /etc/herd/kubeconfig; nodes pull from 10.0.0.5:5000',
    );
  });

  it('refuses a swarm and a cluster at once, naming both variables', () => {
    assert.throws(
      () =>
        engineChoiceFrom({ HERD_SWARM_MANAGER: '/run/docker.sock', HERD_KUBECONFIG: '/etc/herd/kubeconfig' }),
      settingsError(/HERD_SWARM_MANAGER and HERD_KUBECONFIG/),
    );
  });

  it('refuses a cluster with --v2-auth token unless the nodes pull from elsewhere, since they hold no herd token', () => {
    assert.throws(
      () => engineChoiceFrom({ HERD_KUBECONFIG: '/k' }, { v2Auth: 'token' }),
      settingsError(/^--v2-auth token with HERD_KUBECONFIG/),
    );
    assert.equal(
      engineChoiceFrom(
        { HERD_KUBECONFIG: '/k', HERD_KUBERNETES_PULL_FROM: 'registry.example:5000' },
        { v2Auth: 'token' },
      ).kind,
      'kubernetes',
    );
  });
});
