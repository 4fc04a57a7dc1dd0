import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceLabels } from '../engine.js';
import {
  currentTask,
  instanceFromService,
  isLost,
  type SwarmNode,
  type SwarmService,
  type SwarmTask,
  swarmEventFrom,
} from './swarm-json.js';

const digest = `sha256:${'b'.repeat(64)}`;
const labels = {
  [instanceLabels.managedBy]: 'herd',
  [instanceLabels.service]: 'web',
  [instanceLabels.revision]: 'bbbbbbbb',
  [instanceLabels.digest]: digest,
};
const service: SwarmService = {
  ID: 'svc1',
  CreatedAt: '2026-12-03T10:00:00Z',
  Spec: { Name: 'web-x', Labels: labels },
};
const nodes = new Map<string, SwarmNode>([
  ['n1', { ID: 'n1', Description: { Hostname: 'one' }, Status: { State: 'ready', Addr: '10.231.7.11' } }],
  ['n2', { ID: 'n2', Description: { Hostname: 'two' }, Status: { State: 'down', Addr: '10.231.7.12' } }],
]);

function task(overrides: Partial<SwarmTask> & { state: string }): SwarmTask {
  const { state, ...rest } = overrides;
  return {
    ID: 't1',
    ServiceID: 'svc1',
    NodeID: 'n1',
    CreatedAt: '2026-12-03T10:00:01Z',
    DesiredState: 'running',
    Status: {
      State: state,
      Timestamp: '2026-12-03T10:00:02Z',
      ContainerStatus: { ContainerID: 'c1', ExitCode: 0 },
      PortStatus: { Ports: [{ TargetPort: 8080, PublishedPort: 30001, PublishMode: 'host' }] },
    },
    ...rest,
  };
}

describe('instanceFromService', () => {
  it('reads a running task as a running instance at its node address and host port', () => {
    const instance = instanceFromService(service, task({ state: 'running' }), nodes);

    assert.equal(instance?.id, 'svc1');
    assert.equal(instance?.state, 'running');
    assert.deepEqual(instance?.address, { host: '10.231.7.11', port: 30001 });
    assert.equal(instance?.node, 'one');
    assert.equal(instance?.revision, 'bbbbbbbb');
    assert.equal(instance?.startedAt, Date.parse('2026-12-03T10:00:02Z'));
  });

  it('reads a task still being prepared as created, with no address', () => {
    const instance = instanceFromService(service, task({ state: 'preparing' }), nodes);

    assert.equal(instance?.state, 'created');
    assert.equal(instance?.address, undefined);
  });

  it('reads a failed task as exited with its exit code, and a rejected one with -1', () => {
    const failed = task({ state: 'failed' });
    failed.Status.ContainerStatus = { ContainerID: 'c1', ExitCode: 3 };
    const rejected = task({ state: 'rejected' });
    delete rejected.Status.ContainerStatus;

    assert.equal(instanceFromService(service, failed, nodes)?.exitCode, 3);
    assert.equal(instanceFromService(service, rejected, nodes)?.exitCode, -1);
    assert.equal(instanceFromService(service, failed, nodes)?.address, undefined);
  });

  it('reads a task shut down but still running as removing', () => {
    assert.equal(
      instanceFromService(service, task({ state: 'running', DesiredState: 'shutdown' }), nodes)?.state,
      'removing',
    );
  });

  it("is not herd's without the managed-by label or with a digest that is not one", () => {
    const foreign = { ...service, Spec: { Name: 'f', Labels: { [instanceLabels.service]: 'web' } } };
    const forged = {
      ...service,
      Spec: { Name: 'f', Labels: { ...labels, [instanceLabels.digest]: 'latest' } },
    };

    assert.equal(instanceFromService(foreign, task({ state: 'running' }), nodes), undefined);
    assert.equal(instanceFromService(forged, task({ state: 'running' }), nodes), undefined);
  });
});

describe('currentTask and isLost', () => {
  it('takes the newest task of a service', () => {
    const older = task({ state: 'failed', ID: 'old' });
    const newer = task({ state: 'running', ID: 'new', CreatedAt: '2026-12-03T10:05:00Z' });

    assert.equal(currentTask([newer, older])?.ID, 'new');
    assert.equal(currentTask([]), undefined);
  });

  it('says a task is lost only when its node is down and Swarm shut it down before it ended', () => {
    const unknown = new Map(nodes);
    unknown.set('n2', { ID: 'n2', Status: { State: 'unknown', Addr: '10.231.7.12' } });

    assert.equal(isLost(task({ state: 'running', NodeID: 'n2', DesiredState: 'shutdown' }), nodes), true);
    assert.equal(isLost(task({ state: 'running', NodeID: 'n2' }), nodes), false, 'not yet given up by Swarm');
    assert.equal(isLost(task({ state: 'running', NodeID: 'n1', DesiredState: 'shutdown' }), nodes), false);
    assert.equal(isLost(task({ state: 'failed', NodeID: 'n2', DesiredState: 'shutdown' }), nodes), false);
    assert.equal(
      isLost(task({ state: 'running', NodeID: 'n2', DesiredState: 'shutdown' }), unknown),
      false,
      'a node unknown for a moment (a manager restarting) keeps its instances',
    );
    assert.equal(isLost(undefined, nodes), false);
  });
});

describe('swarmEventFrom', () => {
  it("reads a node's container event as the instance's, by its service id", () => {
    const event = swarmEventFrom({
      Type: 'container',
      Action: 'die',
      Actor: {
        ID: 'c1',
        Attributes: { ...labels, exitCode: '137', 'com.docker.swarm.service.id': 'svc1' },
      },
      timeNano: 1_764_756_000_123_456_000,
    });

    assert.equal(event?.kind, 'exited');
    assert.equal(event?.id, 'svc1');
    assert.ok(event?.cursor);
  });

  it('drops a container event that is not a swarm task of herd', () => {
    assert.equal(
      swarmEventFrom({ Type: 'container', Action: 'start', Actor: { ID: 'c1', Attributes: labels } }),
      undefined,
    );
  });
});
