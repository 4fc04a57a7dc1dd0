/**
 * `herd render kubernetes` as a user runs it: the CLI process on a HERD_HOME holding a signed,
 * attested, released image (as `herd sign` and `herd release` leave one), its output read back
 * and every object validated against the Kubernetes OpenAPI schema (kubernetes-models).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import type { Digest } from '../src/oci/index.js';
import { type FleetHome, fleetHome, service } from '../src/pipeline/fleet-home.test-support.js';

const models: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ConfigMap,
  Service,
  Role,
  RoleBinding,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
  Deployment,
};

describe('herd render kubernetes', () => {
  let h: FleetHome;
  let specDir: string;
  let digest: Digest;

  const herd = (...args: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'render', 'kubernetes', specDir, ...args],
      {
        env: { ...process.env, HERD_HOME: h.home.root },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );

  before(async () => {
    h = await fleetHome();
    digest = await h.admissibleImage('v1');
    specDir = await mkdtemp(join(tmpdir(), 'herd-render-'));
    await writeFile(
      join(specDir, 'herd.yaml'),
      [
        'apiVersion: herd/v1',
        `service: ${service}`,
        'version: "1.0.0"',
        'image: { suite: bookworm, packages: [busybox] }',
        'run: { user: 65532, entrypoint: [/usr/bin/server], writable: [/tmp] }',
        'env: { GREETING: hi }',
        'ports: [8080]',
        'health: { http: { path: /healthz, port: 8080 } }',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await h.close();
    await rm(specDir, { recursive: true, force: true });
  });

  it('prints YAML documents that each validate against the Kubernetes OpenAPI schema', () => {
    const result = herd('--image', digest, '--repository', 'registry.example:5000/team/web');

    assert.equal(result.status, 0, result.stderr);
    const objects = parseAllDocuments(result.stdout).map((document) => document.toJS());
    assert.ok(objects.length >= 10, result.stdout);
    for (const object of objects) {
      if (object.kind === 'ClusterImagePolicy') continue; // its CRD's schema: src/engines/kubernetes/fleet-objects.test.ts
      const Model = models[object.kind];
      assert.ok(Model, `no OpenAPI model for ${object.kind}`);
      new Model(object as never).validate();
    }
    const deployment = objects.find((object) => object.kind === 'Deployment');
    assert.equal(deployment.metadata.namespace, service);
    assert.equal(
      deployment.spec.template.spec.containers[0].image,
      `registry.example:5000/team/web@${digest}`,
    );
  });

  it('exits 2 naming the refusal for an image admission refuses, printing no object', async () => {
    const unsigned = await h.writeImage('unsigned');

    const result = herd('--image', unsigned, '--repository', 'registry.example:5000/team/web');

    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /admission refused for web/);
  });
});
