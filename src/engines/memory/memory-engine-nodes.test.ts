import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineEvent, InstanceSpec } from '../engine.js';
import { MemoryEngine } from './memory-engine.js';

const digest = `sha256:${'a'.repeat(64)}` as const;

function specFor(service: string, labels: Record<string, string> = {}): InstanceSpec {
  return {
    service,
    revision: 'r1',
    digest,
    imageRef: `127.0.0.1:5001/${service}@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: {},
    writable: ['/tmp'],
    port: 8080,
    resources: { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 64 },
    stopGraceSeconds: 5,
    labels,
  };
}

async function startMany(engine: MemoryEngine, service: string, count: number) {
  const spec = specFor(service);
  await engine.ensureImage(spec);
  const made = [];
  for (let index = 0; index < count; index++) made.push(await engine.create(spec));
  return made;
}

const countsOf = (engine: MemoryEngine) => engine.nodes().map((node) => node.instances);

describe('MemoryEngine with nodes', () => {
  it('spreads a service over its nodes, each instance with its node and an address on it', async () => {
    const engine = new MemoryEngine({ nodes: 3, firstPort: 41000 });

    const made = await startMany(engine, 'web', 4);

    assert.deepEqual(
      made
        .slice(0, 3)
        .map((one) => one.node)
        .sort(),
      ['node-0001', 'node-0002', 'node-0003'],
    );
    const hostOf = { 'node-0001': '10.0.0.1', 'node-0002': '10.0.0.2', 'node-0003': '10.0.0.3' } as Record<
      string,
      string
    >;
    for (const one of made) assert.equal(one.address?.host, hostOf[one.node ?? '']);
    const twice = made[3];
    assert.deepEqual(
      made.filter((one) => one.node === twice?.node).map((one) => one.address?.port),
      [41000, 41001],
    );
    assert.deepEqual(
      (await engine.list({ service: 'web' })).map((one) => one.node),
      made.map((one) => one.node),
    );
    assert.deepEqual([...countsOf(engine)].sort(), [1, 1, 2]);
  });

  it('places a second service on the nodes the first left emptiest', async () => {
    const engine = new MemoryEngine({ nodes: 3 });
    const web = await startMany(engine, 'web', 4);
    const doubled = web[3]?.node;

    const made = await startMany(engine, 'api', 2);

    assert.ok(made.every((one) => one.node !== doubled));
    assert.notEqual(made[0]?.node, made[1]?.node);
    assert.deepEqual(countsOf(engine), [2, 2, 2]);
  });

  it('stops counting an instance on its node once it exits, so its replacement goes there', async () => {
    const engine = new MemoryEngine({ nodes: 3 });
    const [first] = await startMany(engine, 'web', 3);
    assert.ok(first);

    engine.crash(first.id, 137);
    const [replacement] = await startMany(engine, 'web', 1);

    assert.equal(replacement?.node, first.node);
    assert.deepEqual(countsOf(engine), [1, 1, 1]);
    assert.equal((await engine.list()).find((one) => one.id === first.id)?.state, 'exited');
  });

  it('loses every instance of a failed node, says each is removed, and places nothing there until it is back', async () => {
    const engine = new MemoryEngine({ nodes: 3 });
    const made = await startMany(engine, 'web', 6);
    const abort = new AbortController();
    const events = engine.events(abort.signal);

    const gone = engine.failNode('node-0002');
    const whileDown = await startMany(engine, 'web', 2);
    engine.restoreNode('node-0002');
    const [afterRestore] = await startMany(engine, 'web', 1);
    abort.abort();

    const onNode2 = made.filter((one) => one.node === 'node-0002').map((one) => one.id);
    assert.deepEqual(gone, onNode2);
    assert.equal(onNode2.length, 2);
    assert.deepEqual(
      whileDown.map((one) => one.node),
      ['node-0001', 'node-0003'],
    );
    assert.equal(afterRestore?.node, 'node-0002');
    const listed = await engine.list();
    assert.ok(listed.every((one) => !onNode2.includes(one.id)));
    const removed = (await collect(events)).filter((event) => event.kind === 'removed').map((one) => one.id);
    assert.deepEqual(removed, onNode2);
    assert.deepEqual(
      engine.nodes().map((node) => [node.name, node.up, node.instances]),
      [
        ['node-0001', true, 3],
        ['node-0002', true, 1],
        ['node-0003', true, 3],
      ],
    );
  });

  it('refuses a create when no node is up, naming the service', async () => {
    const engine = new MemoryEngine({ nodes: 1 });
    engine.failNode('node-0001');

    await assert.rejects(startMany(engine, 'web', 1), { code: 'CREATE', message: /no node up .* web/ });
  });

  it('keeps instances to the nodes their constraints allow, and refuses when none does', async () => {
    const engine = new MemoryEngine({
      nodes: [
        { name: 'a', labels: { zone: 'east' } },
        { name: 'b', labels: { zone: 'west' } },
        { name: 'c', labels: { zone: 'east' } },
      ],
      constraintsFor: (spec) =>
        spec.labels?.zone ? [{ key: 'node.labels.zone', op: '==', value: spec.labels.zone }] : [],
    });
    const east = specFor('web', { zone: 'east' });
    await engine.ensureImage(east);

    const placed = [await engine.create(east), await engine.create(east), await engine.create(east)];

    assert.deepEqual(
      placed.map((one) => one.node),
      ['a', 'c', 'a'],
    );
    await assert.rejects(engine.create(specFor('web', { zone: 'north' })), {
      code: 'CREATE',
      message: /node\.labels\.zone==north/,
    });
  });

  it("places by the spec's own placement constraints, and refuses one it cannot read", async () => {
    const engine = new MemoryEngine({
      nodes: [
        { name: 'a', labels: { zone: 'east' } },
        { name: 'b', labels: { zone: 'west' } },
        { name: 'c', labels: { zone: 'east' } },
      ],
    });
    const west = { ...specFor('web'), placement: { constraints: ['node.labels.zone == west'] } };
    const notA = {
      ...specFor('api'),
      placement: { constraints: ['node.labels.zone==east', 'node.hostname!=a'] },
    };
    await engine.ensureImage(west);

    const placed = [await engine.create(west), await engine.create(west), await engine.create(notA)];

    assert.deepEqual(
      placed.map((one) => one.node),
      ['b', 'b', 'c'],
    );
    await assert.rejects(engine.create({ ...specFor('web'), placement: { constraints: ['zone=east'] } }), {
      code: 'CREATE',
      message: /placement constraint "zone=east" of web/,
    });
  });

  it('has no nodes unless given some: instances carry none and failNode is refused', async () => {
    const engine = new MemoryEngine();

    const [made] = await startMany(engine, 'web', 1);

    assert.equal(made?.node, undefined);
    assert.equal(made?.address?.host, '127.0.0.1');
    assert.deepEqual(engine.nodes(), []);
    assert.throws(() => engine.failNode('node-0001'), { code: 'OTHER' });
    assert.throws(() => new MemoryEngine({ nodes: 2 }).failNode('node-0009'), { code: 'NOT_FOUND' });
  });
});

async function collect(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const seen: EngineEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}
