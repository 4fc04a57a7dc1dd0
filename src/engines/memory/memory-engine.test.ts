import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineEvent, InstanceSpec } from '../engine.js';
import { describeEngineContract } from '../engine-contract.js';
import { MemoryEngine } from './memory-engine.js';

const digest = `sha256:${'a'.repeat(64)}` as const;
const exitingDigest = `sha256:${'e'.repeat(64)}` as const;

function specFor(overrides: Partial<InstanceSpec> & { service: string }): InstanceSpec {
  return {
    revision: 'r1',
    digest,
    imageRef: `127.0.0.1:5001/${overrides.service}@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: {},
    writable: ['/tmp'],
    port: 8080,
    resources: { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 64 },
    stopGraceSeconds: 5,
    ...overrides,
  };
}

describeEngineContract('MemoryEngine', async () => {
  const engine = new MemoryEngine();
  engine.failImage(exitingDigest, 'exit');
  engine.setImageCommand(digest, ['/server']);
  const server = Buffer.from('#!/bin/true\n');
  engine.setImageFiles(digest, [
    {
      path: 'server',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: server.length,
      mtime: 0,
      data: server,
    },
  ]);
  return {
    engine,
    spec: specFor,
    exitingSpec: (overrides) => specFor({ digest: exitingDigest, ...overrides }),
    // The memory engine prints `started <service> <digest>`; every contract service starts with this.
    logText: 'started contract-',
    imageFile: 'server',
    async alter(id) {
      engine.plantChange(id, { path: '/etc/planted', kind: 'added' });
      return '/etc/planted';
    },
    async dropInTmp(id) {
      engine.plantFile(id, {
        ...{ type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
        path: '/tmp/dropped',
        size: 4,
        data: Buffer.from('evil'),
      });
    },
    workloadExecutable: '/server',
    // At its limit until it has used `cpuMs`, as a busy process capped by its cgroup.
    async burnCpu(instance, cpuMs) {
      const limit = specFor({ service: instance.service }).resources.nanoCpus / 1e9;
      engine.setCpuLoad(instance.id, limit);
      await new Promise((resolve) => setTimeout(resolve, cpuMs / limit));
      engine.setCpuLoad(instance.id, 0);
    },
    async startStray(id) {
      const pid = engine.plantProcess(id, {
        user: '0',
        command: 'sleep 30',
        executable: '/usr/bin/sleep',
        outside: true,
      });
      return { executable: '/usr/bin/sleep', stop: async () => engine.endProcess(id, pid) };
    },
    debugCommand: ['/server', 'echo'],
    async exec(id) {
      engine.simulateExec(id, 'sh');
    },
  };
});

describe('MemoryEngine', () => {
  async function started(engine: MemoryEngine, service = 'web') {
    const spec = specFor({ service });
    await engine.ensureImage(spec);
    return engine.create(spec);
  }

  it('stamps instances with the injected clock and numbers them in order', async () => {
    const engine = new MemoryEngine({ now: () => 1_700_000_000_000 });

    const first = await started(engine);
    const second = await started(engine);

    assert.equal(first.id, 'mem-000001');
    assert.equal(second.id, 'mem-000002');
    assert.equal(first.createdAt, 1_700_000_000_000);
    assert.equal(first.startedAt, 1_700_000_000_000);
  });

  it('refuses to create from an image it was never given', async () => {
    const engine = new MemoryEngine();

    await assert.rejects(engine.create(specFor({ service: 'web' })), { code: 'IMAGE' });
  });

  it('keeps a crashed instance, exited with its code and no address, and says so once', async () => {
    const engine = new MemoryEngine();
    const abort = new AbortController();
    const events = engine.events(abort.signal);
    const instance = await started(engine);

    engine.crash(instance.id, 137);
    engine.crash(instance.id, 1);
    abort.abort();

    const [listed] = await engine.list();
    assert.equal(listed?.state, 'exited');
    assert.equal(listed?.exitCode, 137);
    assert.equal(listed?.address, undefined);
    assert.deepEqual(await collect(events), [
      { kind: 'started', id: instance.id, cursor: '1' },
      { kind: 'exited', id: instance.id, exitCode: 137, cursor: '2' },
    ]);
  });

  it('reports an instance removed behind its back as removed, without an exit', async () => {
    const engine = new MemoryEngine();
    const abort = new AbortController();
    const events = engine.events(abort.signal);
    const instance = await started(engine);

    engine.kill(instance.id);
    abort.abort();

    assert.deepEqual(await engine.list(), []);
    assert.deepEqual((await collect(events)).at(-1), { kind: 'removed', id: instance.id, cursor: '2' });
  });

  it('fails creates of an image marked to fail at create, until cleared', async () => {
    const engine = new MemoryEngine();
    engine.failImage(digest, 'create');

    await assert.rejects(started(engine), { code: 'CREATE' });
    engine.clearImageFailure(digest);
    assert.equal((await started(engine)).state, 'running');
  });

  it('records the peak of instances running at once', async () => {
    const engine = new MemoryEngine();
    const a = await started(engine);
    const b = await started(engine);
    await engine.remove(a.id);
    await started(engine);
    engine.crash(b.id, 1);

    assert.equal(engine.peakRunning, 2);
    assert.equal(engine.running, 1);
    engine.resetPeak();
    assert.equal(engine.peakRunning, 1);
  });

  it('gives each instance with a port its own fake loopback address', async () => {
    const engine = new MemoryEngine({ firstPort: 41000 });

    const a = await started(engine);
    const b = await started(engine);

    assert.deepEqual(a.address, { host: '127.0.0.1', port: 41000 });
    assert.deepEqual(b.address, { host: '127.0.0.1', port: 41001 });
  });

  it('hands out copies: changing a returned instance does not change the engine', async () => {
    const engine = new MemoryEngine();
    const instance = await started(engine);

    instance.labels.extra = 'x';
    instance.state = 'exited';

    const [listed] = await engine.list();
    assert.equal(listed?.labels.extra, undefined);
    assert.equal(listed?.state, 'running');
  });

  it('returns the last lines of output with tail', async () => {
    const engine = new MemoryEngine();
    const instance = await started(engine);
    engine.print(instance.id, 'one');
    engine.print(instance.id, 'two');

    assert.equal(await engine.logs(instance.id, { tail: 1 }), 'two\n');
    await assert.rejects(engine.logs('mem-999999'), { code: 'NOT_FOUND' });
  });
});

async function collect(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const seen: EngineEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}
