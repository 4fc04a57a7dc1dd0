/**
 * renderKubernetes on a real store and herd.db in a temporary HERD_HOME: a digest is rendered only
 * once admitted as a rollout would admit it, and the objects carry the spec's fleet and herd's keys.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { parseSpecText } from '../specfile/load.js';
import { TrustError } from '../trust/errors.js';
import { type FleetHome, fleetHome, service } from './fleet-home.test-support.js';
import { renderKubernetes } from './render-kubernetes.js';

/** The spec whose run template is the one fleet-home signs its images with. */
const spec = parseSpecText(
  [
    'apiVersion: herd/v1',
    `service: ${service}`,
    'version: "1.0.0"',
    'image: { suite: bookworm, packages: [busybox] }',
    'run: { user: 65532, entrypoint: [/usr/bin/server], writable: [/tmp] }',
    'env: { GREETING: hi }',
    'ports: [8080]',
    'health: { http: { path: /healthz, port: 8080 } }',
    'fleet: { size: 5, strategy: { maxSurge: 2, maxUnavailable: 1 } }',
    '',
  ].join('\n'),
  'herd.yaml',
);

describe('renderKubernetes', () => {
  let h: FleetHome;

  beforeEach(async () => {
    h = await fleetHome();
  });
  afterEach(async () => {
    await h.close();
  });

  it("renders an admitted digest's fleet, pulled from the cluster's repository, with herd's trusted key", async () => {
    const digest = await h.admissibleImage('v1');

    const objects = await renderKubernetes(
      { store: h.store, state: h.state, home: h.home },
      { spec, digest, repository: 'registry.example/team/web', namespace: 'web-prod' },
    );

    const deployment = objects.find((object) => object.kind === 'Deployment') as V1Deployment;
    assert.equal(deployment.metadata?.namespace, 'web-prod');
    assert.equal(deployment.spec?.replicas, 5);
    assert.deepEqual(deployment.spec?.strategy?.rollingUpdate, { maxSurge: 2, maxUnavailable: 1 });
    assert.equal(deployment.spec?.template.spec?.containers[0]?.image, `registry.example/team/web@${digest}`);
    const policy = objects.find((object) => object.kind === 'ClusterImagePolicy') as {
      spec: { authorities: { name: string; key: { data: string } }[] };
    };
    assert.deepEqual(
      policy.spec.authorities.map((authority) => authority.name),
      ['release'],
    );
    assert.match(policy.spec.authorities[0]?.key.data ?? '', /^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses a digest admission refuses, journaled as a rollout refusal is, and renders nothing', async () => {
    const digest = await h.writeImage('unsigned');

    await assert.rejects(
      renderKubernetes(
        { store: h.store, state: h.state, home: h.home },
        { spec, digest, repository: 'registry.example/team/web', namespace: 'web-prod' },
      ),
      (error: unknown) => error instanceof TrustError && error.code === 'ADMISSION_REFUSED',
    );

    assert.equal(h.entries('admission-refused')[0]?.details.code, 'UNSIGNED');
  });
});
