import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError, type InstanceSpec, instanceLabels } from '../engine.js';
import { checkConstraints, hardenedServiceSpec, serviceNameFor, writableTmpfsMode } from './service-spec.js';

const digest = `sha256:${'a'.repeat(64)}` as const;

function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'web',
    revision: 'aaaaaaaa',
    digest,
    imageRef: `10.231.7.1:5000/web@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: { GREETING: 'hi' },
    writable: ['/tmp'],
    port: 8080,
    resources: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
    stopGraceSeconds: 5,
    ...overrides,
  };
}

type Body = {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: Record<string, unknown> & {
      Mounts: { Target: string; TmpfsOptions: { SizeBytes: number; Mode: number } }[];
    };
    Resources: { Limits: Record<string, number> };
    RestartPolicy: { Condition: string };
    Placement: { Constraints: string[] };
  };
  Mode: { Replicated: { Replicas: number } };
  EndpointSpec: { Mode: string; Ports: Record<string, unknown>[] };
};

describe('hardenedServiceSpec', () => {
  it('asks Swarm for one task, hardened, with a dnsrr endpoint and a host-mode port', () => {
    const body = hardenedServiceSpec(spec(), { name: 'web-aaaaaaaa-01020304' }) as unknown as Body;
    const container = body.TaskTemplate.ContainerSpec;

    assert.equal(body.Name, 'web-aaaaaaaa-01020304');
    assert.deepEqual(body.Mode, { Replicated: { Replicas: 1 } });
    assert.equal(container.ReadOnly, true);
    assert.deepEqual(container.CapabilityDrop, ['ALL']);
    assert.deepEqual(container.CapabilityAdd, []);
    assert.equal(container.Init, true);
    assert.equal(container.User, '65532:65532');
    assert.equal(container.Image, spec().imageRef);
    assert.equal(container.StopGracePeriod, 5e9);
    assert.deepEqual(body.TaskTemplate.Resources.Limits, {
      NanoCPUs: 500_000_000,
      MemoryBytes: 134217728,
      Pids: 64,
    });
    assert.deepEqual(body.TaskTemplate.RestartPolicy, { Condition: 'none' });
    assert.deepEqual(body.EndpointSpec, {
      Mode: 'dnsrr',
      Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' }],
    });
    assert.deepEqual(
      container.Mounts.map((mount) => [mount.Target, mount.TmpfsOptions.Mode]),
      [
        ['/tmp', writableTmpfsMode],
        ['/dev/shm', writableTmpfsMode],
      ],
    );
    assert.equal(container.Mounts[1]?.TmpfsOptions.SizeBytes, 1024 * 1024, 'a 1 MiB /dev/shm unless asked');
    assert.equal(body.Labels[instanceLabels.managedBy], 'herd');
    assert.deepEqual(
      container.Labels,
      body.Labels,
      'the container carries the labels its events are read by',
    );
  });

  it('loosens only the root when the spec opts in to a writable root', () => {
    const body = hardenedServiceSpec(spec({ writableRoot: true }), { name: 'n' }) as unknown as Body;

    assert.equal(body.TaskTemplate.ContainerSpec.ReadOnly, false);
    assert.deepEqual(body.TaskTemplate.ContainerSpec.CapabilityDrop, ['ALL']);
  });

  it('keeps herd labels from being set by the spec', () => {
    const body = hardenedServiceSpec(
      spec({
        labels: { [instanceLabels.service]: 'other', [instanceLabels.managedBy]: 'nobody', team: 'core' },
      }),
      { name: 'n' },
    ) as unknown as Body;

    assert.equal(body.Labels[instanceLabels.service], 'web');
    assert.equal(body.Labels[instanceLabels.managedBy], 'herd');
    assert.equal(body.Labels.team, 'core');
  });

  it('refuses root, an image not named by its digest, and a writable path read as options (CREATE)', () => {
    for (const bad of [
      spec({ user: { uid: 0, gid: 0 } }),
      spec({ imageRef: '10.231.7.1:5000/web:latest' }),
      spec({ writable: ['/tmp,exec'] }),
    ]) {
      assert.throws(
        () => hardenedServiceSpec(bad, { name: 'n' }),
        (error: unknown) => error instanceof EngineError && error.code === 'CREATE',
      );
    }
  });

  it('passes placement constraints, and refuses one that is not a single node condition', () => {
    const body = hardenedServiceSpec(spec(), {
      name: 'n',
      placement: { constraints: ['node.labels.zone==east', 'node.role != manager'] },
    }) as unknown as Body;
    assert.deepEqual(body.TaskTemplate.Placement.Constraints, [
      'node.labels.zone==east',
      'node.role != manager',
    ]);

    for (const hostile of [
      'node.labels.zone==east,node.role==manager',
      'engine.labels.x==1',
      'node.id==',
      'node.hostname==a b',
    ]) {
      assert.throws(
        () => checkConstraints([hostile]),
        new RegExp(`placement constraint ${JSON.stringify(hostile).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
    }
  });

  it('names each instance service uniquely within Swarm naming rules', () => {
    const name = serviceNameFor({ service: 'web', revision: 'aaaaaaaa' }, Buffer.from([1, 2, 3, 4]));

    assert.equal(name, 'web-aaaaaaaa-01020304');
    assert.match(serviceNameFor({ service: 'x'.repeat(80), revision: 'r' }), /^[A-Za-z0-9-]{1,63}$/);
  });
});
