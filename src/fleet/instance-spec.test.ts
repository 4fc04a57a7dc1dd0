import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSpecText } from '../specfile/load.js';
import { runTemplateDigest, runTemplateFor } from '../specfile/run-template.js';
import type { Spec } from '../specfile/types.js';
import { fleetTemplateFor, instanceSpecFor } from './instance-spec.js';

const digest = `sha256:${'d'.repeat(64)}` as const;

function spec(...lines: string[]): Spec {
  const text = [
    'apiVersion: herd/v1',
    'service: web',
    'image: { packages: [nodejs] }',
    'ports: [8080]',
    'env: { GREETING: hello, API_TOKEN: { secret: true } }',
    ...lines,
    '',
  ].join('\n');
  return parseSpecText(text, 'herd.yaml');
}

function instanceOf(template: ReturnType<typeof fleetTemplateFor>) {
  return instanceSpecFor(
    { service: 'web', revision: 'r1', digest, template },
    { imageRef: `127.0.0.1:5001/web@${digest}` },
  );
}

describe('fleetTemplateFor and instanceSpecFor', () => {
  it('leave the root read-only and name no webhook for a spec that says nothing', () => {
    const template = fleetTemplateFor(spec(), spec().fleet);

    assert.equal(template.run.writableRoot, false);
    assert.equal(template.watch, undefined);
    assert.equal(instanceOf(template).writableRoot, undefined);
  });

  it('carry an opted-in writable root from the spec to every instance', () => {
    const loaded = spec('run: { writableRoot: true }');

    const template = fleetTemplateFor(loaded, loaded.fleet);

    assert.equal(template.run.writableRoot, true);
    assert.equal(instanceOf(template).writableRoot, true);
  });

  it("carry the spec's alert webhook with the fleet, and still no env values", () => {
    const loaded = spec('watch: { webhook: "https://alerts.example/herd" }');

    const template = fleetTemplateFor(loaded, loaded.fleet);

    assert.deepEqual(template.watch, { webhook: 'https://alerts.example/herd' });
    assert.deepEqual(template.env, {});
    assert.deepEqual(template.fromEnvironment, ['API_TOKEN']);
  });

  it('carry the deep check interval with the fleet and the /dev/shm size to every instance', () => {
    const loaded = spec('watch: { deepCheck: { interval: 10m } }', 'fleet: { resources: { shm: 8Mi } }');

    const template = fleetTemplateFor(loaded, loaded.fleet);

    assert.deepEqual(template.watch, { deepCheck: { intervalSeconds: 600 } });
    assert.equal(instanceOf(template).resources.shmBytes, 8 * 1024 * 1024);
    assert.equal(instanceOf(fleetTemplateFor(spec(), spec().fleet)).resources.shmBytes, undefined);
  });

  it('give each instance the run template of the spec and label it with that template’s digest', () => {
    const loaded = spec('run: { writable: [/tmp, /var/cache/web] }');

    const template = fleetTemplateFor(loaded, loaded.fleet);
    const instance = instanceOf(template);

    assert.deepEqual(template.run, runTemplateFor(loaded));
    assert.equal(template.version, 1);
    assert.deepEqual(instance.writable, ['/tmp', '/var/cache/web']);
    assert.equal(instance.templateDigest, runTemplateDigest(template.run));
  });
});
