import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import type { Spec } from '../../specfile/types.js';
import { memoryImageView } from '../memory-image.js';
import { healthCheck } from './health-check.js';

const run: Spec['run'] = {
  user: { name: 'nonroot', uid: 65532, gid: 65532 },
  workdir: '/',
  entrypoint: [],
  cmd: [],
  writable: [],
  writableRoot: false,
};
const health: Spec['health'] = {
  kind: 'http',
  path: '/healthz',
  port: 8080,
  intervalSeconds: 10,
  timeoutSeconds: 3,
  retries: 3,
};

function check(spec: Pick<Spec, 'run' | 'env' | 'health' | 'ports'> | undefined, healthcheck?: string[]) {
  const view = memoryImageView({ config: healthcheck ? { Healthcheck: { Test: healthcheck } } : {} });
  return healthCheck.check({ view, gate: defaultGateSection, ...(spec ? { spec } : {}) });
}

describe('HERD-H007 health check', () => {
  it('passes a spec that declares one', () => {
    assert.deepEqual(check({ run, env: {}, ports: [{ port: 8080, protocol: 'tcp' }], health }), []);
  });

  it('fails a spec that serves ports without a health check', () => {
    const results = check({ run, env: {}, ports: [{ port: 8080, protocol: 'tcp' }] });

    assert.equal(results.length, 1);
    assert.equal(results[0]?.level, undefined);
    assert.equal(results[0]?.location?.setting, 'spec.health');
  });

  it('only warns about a spec with neither ports nor a health check, like a base image', () => {
    assert.equal(check({ run, env: {}, ports: [] })[0]?.level, 'warning');
  });

  it("without the spec, accepts the config's Healthcheck and otherwise warns", () => {
    assert.deepEqual(check(undefined, ['CMD', '/healthcheck']), []);
    assert.equal(check(undefined)[0]?.level, 'warning');
    assert.equal(check(undefined, ['NONE'])[0]?.level, 'warning');
  });
});
