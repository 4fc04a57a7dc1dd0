/**
 * The contract every Engine passes: one suite, run against the memory
 * engine in its unit test and against a real podman in test/docker-engine.test.ts, so the fleet
 * controller can trust that what it learns on the memory engine holds on a real one.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { readTar } from '../oci/index.js';
import {
  type Engine,
  EngineError,
  type EngineEvent,
  type Instance,
  type InstanceSpec,
  instanceLabels,
  type LogLine,
} from './engine.js';

export interface EngineContractFixture {
  engine: Engine;
  /** A spec whose image starts and keeps running; `ensureImage` has not been called for it yet. */
  spec(overrides: Partial<InstanceSpec> & { service: string }): InstanceSpec;
  /** A spec whose image starts and exits at once with a non-zero code. */
  exitingSpec(overrides: Partial<InstanceSpec> & { service: string }): InstanceSpec;
  /** Text a running instance of `spec` prints soon after it starts. */
  logText: string;
  /** Creates something on the engine that herd did not make; returns its id. Absent if the engine cannot hold such things. */
  createForeign?(): Promise<string>;
  removeForeign?(id: string): Promise<void>;
  /** A file of `spec`'s image, as its export names it (e.g. `probe-server`). */
  imageFile: string;
  /** Changes a running instance's root filesystem behind herd's back; returns the absolute path it added. */
  alter(id: string): Promise<string>;
  /** Puts an executable file named `dropped` into the instance's `/tmp` (a tmpfs), as `podman cp` does. */
  dropInTmp(id: string): Promise<void>;
  /** Opens an exec session on a running instance, as `podman exec` does. */
  exec(id: string): Promise<void>;
  /** The file `spec`'s program runs as, inside the instance (e.g. `/probe-server`). */
  workloadExecutable: string;
  /**
   * Starts a process in the instance's pid namespace from outside it, as `nsenter -t <pid> -p`
   * from the host does, running a file of the host's; `stop` ends it.
   */
  startStray(id: string): Promise<{ executable: string; stop(): Promise<void> }>;
  /** A program of `spec`'s image that behaves as `probe-server echo` (test/support/probe-server.c). */
  debugCommand: string[];
  /**
   * Makes a running instance of `spec` burn `cpuMs` of CPU time (the probe server's `/spin`), for
   * the optional `stats`; absent for an engine without it.
   */
  burnCpu?(instance: Instance, cpuMs: number): Promise<void>;
  /** How long to wait for logs and events on this engine. */
  patienceMs?: number;
  /**
   * The hosts an instance's address may name: `127.0.0.1` on one machine (the default), a node's
   * address on an engine of many (a Swarm node's, where its published port answers).
   */
  addressHosts?: readonly string[];
  /** For an engine whose instances have addresses of their own (a pod's IP): which hosts are right. */
  acceptsAddressHost?(host: string): boolean;
  /**
   * What this engine has no way to do (KubernetesEngine: its API reads no container filesystem or
   * processes, herd's role has no exec, and an exec is no API event; its `changes` needs a drift
   * probe image). Each such test then checks that the engine says so with EngineError UNSUPPORTED
   * instead, or that it reports nothing false.
   */
  unsupported?: readonly EngineCapability[];
  teardown?(): Promise<void>;
}

/**
 * What an engine may lack; docs/engines.md lists who lacks what. `filesystem-changes` is `changes`,
 * `filesystem` the rest: the export, a path read or listed.
 */
export type EngineCapability =
  | 'filesystem-changes'
  | 'filesystem'
  | 'processes'
  | 'debug-exec'
  | 'exec-events';

export function describeEngineContract(name: string, setup: () => Promise<EngineContractFixture>): void {
  describe(`${name} passes the Engine contract`, () => {
    let fixture: EngineContractFixture;
    let engine: Engine;
    const created: string[] = [];
    const patience = () => fixture.patienceMs ?? 2000;
    const lacks = (capability: EngineCapability) => fixture.unsupported?.includes(capability) ?? false;
    const saysUnsupported = (operation: Promise<unknown>) =>
      assert.rejects(operation, (error: unknown) => {
        assert.ok(error instanceof EngineError, String(error));
        assert.equal(error.code, 'UNSUPPORTED', error.message);
        return true;
      });

    async function createRunning(overrides: Partial<InstanceSpec> & { service: string }) {
      const spec = fixture.spec(overrides);
      await engine.ensureImage(spec);
      const instance = await engine.create(spec);
      created.push(instance.id);
      return instance;
    }

    before(async () => {
      fixture = await setup();
      engine = fixture.engine;
    });

    after(async () => {
      for (const id of created) await engine?.remove(id).catch(() => undefined);
      await fixture?.teardown?.();
    });

    it('names itself and its version', async () => {
      const info = await engine.info();

      assert.ok(info.name.length > 0);
      assert.ok(info.version.length > 0);
    });

    it('creates a running instance that carries herd labels and a loopback address', async () => {
      const instance = await createRunning({ service: 'contract-create', labels: { team: 'core' } });

      assert.equal(instance.state, 'running');
      assert.equal(instance.service, 'contract-create');
      assert.equal(instance.labels[instanceLabels.managedBy], 'herd');
      assert.equal(instance.labels[instanceLabels.service], 'contract-create');
      assert.equal(instance.labels[instanceLabels.revision], instance.revision);
      assert.equal(instance.labels[instanceLabels.digest], instance.digest);
      assert.equal(instance.labels.team, 'core');
      const hosts = fixture.addressHosts ?? ['127.0.0.1'];
      const accepts = fixture.acceptsAddressHost ?? ((host: string) => hosts.includes(host));
      assert.ok(
        accepts(instance.address?.host ?? ''),
        `address ${instance.address?.host} is none of ${hosts}`,
      );
      assert.ok((instance.address?.port ?? 0) > 0);
    });

    it('makes an image available twice without complaint', async () => {
      const spec = fixture.spec({ service: 'contract-image' });

      await engine.ensureImage(spec);
      await engine.ensureImage(spec);
    });

    it('removes an image, so that an instance of it needs ensureImage again; removing it twice is not an error', async () => {
      // The exiting image: its instances never run, so removing it takes nothing from the other tests.
      const spec = fixture.exitingSpec({ service: 'contract-remove-image' });
      await engine.ensureImage(spec);

      await engine.removeImage(spec);
      await engine.removeImage(spec);

      await assert.rejects(engine.create(spec), (error: unknown) => {
        assert.ok(error instanceof EngineError, String(error));
        assert.equal(error.code, 'IMAGE');
        return true;
      });
      await engine.ensureImage(spec);
      const instance = await engine.create(spec);
      created.push(instance.id);
      assert.equal(instance.digest, spec.digest);
    });

    it('lists instances by service, and only the ones herd made', async () => {
      const a = await createRunning({ service: 'contract-list-a' });
      const b = await createRunning({ service: 'contract-list-b' });
      const foreign = await fixture.createForeign?.();

      try {
        const onlyA = await engine.list({ service: 'contract-list-a' });
        const all = await engine.list();

        assert.deepEqual(
          onlyA.map((instance) => instance.id),
          [a.id],
        );
        assert.ok(all.some((instance) => instance.id === b.id));
        assert.ok(all.every((instance) => instance.labels[instanceLabels.managedBy] === 'herd'));
        if (foreign !== undefined) assert.ok(!all.some((instance) => instance.id === foreign));
      } finally {
        if (foreign !== undefined) await fixture.removeForeign?.(foreign);
      }
    });

    it('removes an instance, and removing it again or an unknown id is not an error', async () => {
      const instance = await createRunning({ service: 'contract-remove' });

      await engine.remove(instance.id);
      await engine.remove(instance.id);
      await engine.remove('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');

      assert.deepEqual(await engine.list({ service: 'contract-remove' }), []);
    });

    it("returns an instance's output as logs", async () => {
      const instance = await createRunning({ service: 'contract-logs' });

      const text = await eventually(patience(), async () => {
        const logs = await engine.logs(instance.id, { tail: 50 });
        return logs.includes(fixture.logText) ? logs : undefined;
      });

      assert.ok(text?.includes(fixture.logText), `logs never contained ${JSON.stringify(fixture.logText)}`);
    });

    it('reports started, exited and removed as events', async () => {
      const abort = new AbortController();
      const seen: EngineEvent[] = [];
      const stream = engine.events(abort.signal);
      const collecting = (async () => {
        for await (const event of stream) seen.push(event);
      })();

      const instance = await createRunning({ service: 'contract-events' });
      await engine.remove(instance.id);
      const kinds = await eventually(patience(), async () => {
        const mine = seen.filter((event) => event.id === instance.id).map((event) => event.kind);
        return mine.includes('removed') ? mine : undefined;
      });
      abort.abort();
      await collecting;

      assert.deepEqual(kinds, ['started', 'exited', 'removed']);
    });

    it('reports an instance whose process exits at once as exited, with its exit code', async () => {
      const spec = fixture.exitingSpec({ service: 'contract-exit' });
      await engine.ensureImage(spec);

      const instance = await engine.create(spec);
      created.push(instance.id);
      const exited = await eventually(patience(), async () => {
        const [listed] = await engine.list({ service: 'contract-exit' });
        return listed?.state === 'exited' ? listed : undefined;
      });

      assert.equal(exited?.id, instance.id);
      assert.ok((exited?.exitCode ?? 0) !== 0, 'expected a non-zero exit code');
      assert.equal(exited?.address, undefined);
    });

    it("follows an instance's output with timestamps, and ends when the instance is removed", async () => {
      const began = Date.now() - 1000;
      const instance = await createRunning({ service: 'contract-follow' });
      const abort = new AbortController();
      const lines: LogLine[] = [];
      const following = (async () => {
        for await (const line of engine.followLogs(instance.id, { signal: abort.signal })) lines.push(line);
      })();

      const seen = await eventually(patience(), async () =>
        lines.find((line) => line.text.includes(fixture.logText)),
      );
      await engine.remove(instance.id);
      const ended = await Promise.race([
        following.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), patience())),
      ]);
      abort.abort();

      assert.ok(seen, `never followed a line with ${JSON.stringify(fixture.logText)}`);
      assert.equal(seen.stream, 'stdout');
      assert.ok(seen.time >= began && seen.time <= Date.now(), `time ${seen.time} is not now`);
      assert.ok(!seen.text.startsWith('20'), 'the timestamp is taken off the text');
      assert.equal(ended, true, 'the iterable did not end after the instance was removed');
    });

    it('follows from `since`, leaving out earlier output', async () => {
      const instance = await createRunning({ service: 'contract-since' });
      await eventually(patience(), async () =>
        (await engine.logs(instance.id)).includes(fixture.logText) ? true : undefined,
      );
      const abort = new AbortController();
      const lines: LogLine[] = [];

      const following = (async () => {
        for await (const line of engine.followLogs(instance.id, {
          since: Date.now() + 60_000,
          signal: abort.signal,
        }))
          lines.push(line);
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      abort.abort();
      await following;

      assert.deepEqual(lines, []);
    });

    it('reports what changed in an instance filesystem, and nothing planted before', async () => {
      const instance = await createRunning({ service: 'contract-changes' });
      if (lacks('filesystem-changes')) return saysUnsupported(engine.changes(instance.id));
      const before = await engine.changes(instance.id);

      const path = await fixture.alter(instance.id);
      const after = await engine.changes(instance.id);

      assert.ok(Array.isArray(before));
      assert.ok(!before.some((change) => change.path === path));
      assert.ok(
        after.some((change) => change.path === path && change.kind === 'added'),
        `changes did not report ${path}: ${JSON.stringify(after)}`,
      );
      assert.ok(after.every((change) => change.path.startsWith('/')));
    });

    it("exports an instance's filesystem as a tar holding the image's files", async () => {
      const instance = await createRunning({ service: 'contract-export' });
      if (lacks('filesystem')) return saysUnsupported(engine.exportFilesystem(instance.id, {}));

      const stream = await engine.exportFilesystem(instance.id, {});
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
      const entries = readTar(Buffer.concat(chunks));

      const file = entries.find((entry) => entry.path.replace(/^\.?\//, '') === fixture.imageFile);
      assert.equal(file?.type, 'file');
      assert.ok((file?.size ?? 0) > 0);
    });

    it('reads a path of a running instance as a tar, even on a tmpfs that changes() does not see', async () => {
      const instance = await createRunning({ service: 'contract-read-path' });
      if (lacks('filesystem')) return saysUnsupported(engine.readPath(instance.id, '/tmp', {}));
      await fixture.dropInTmp(instance.id);

      const stream = await engine.readPath(instance.id, '/tmp', {});
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
      const entries = readTar(Buffer.concat(chunks));

      const dropped = entries.find((entry) => entry.path.replace(/^\.?\//, '') === 'tmp/dropped');
      assert.equal(dropped?.type, 'file', JSON.stringify(entries.map((entry) => entry.path)));
      assert.ok(((dropped?.mode ?? 0) & 0o111) !== 0, 'the executable bits survive');
    });

    it('lists a path of a running instance with its metadata, tmpfs included, without its content', async () => {
      const instance = await createRunning({ service: 'contract-list-path' });
      if (lacks('filesystem')) {
        // No listing at all: the caller falls back to readPath, which says UNSUPPORTED.
        assert.equal(await engine.listPath?.(instance.id, '/tmp', {}), undefined);
        return saysUnsupported(engine.readPath(instance.id, '/tmp', {}));
      }
      await fixture.dropInTmp(instance.id);
      assert.ok(engine.listPath, 'every engine herd ships lists paths');

      const listed = await engine.listPath(instance.id, '/tmp', {});

      assert.ok(listed, 'listed from this host, not left to the archive');
      const dropped = listed.find((entry) => entry.path === '/tmp/dropped');
      assert.equal(dropped?.type, 'file', JSON.stringify(listed.map((entry) => entry.path)));
      assert.ok((dropped.mode & 0o111) !== 0, 'the executable bits survive');
      assert.ok(dropped.size > 0 && Number.isFinite(dropped.mtimeMs));
      // A path that is not there is never an empty listing: left to the archive, or NOT_FOUND.
      const missing = await engine
        .listPath(instance.id, '/no/such/path', {})
        .catch((error: unknown) => error);
      assert.ok(
        missing === undefined || (missing instanceof EngineError && missing.code === 'NOT_FOUND'),
        String(missing),
      );
    });

    it('leaves no listener on a long-lived signal once a read path stream is consumed', async () => {
      const instance = await createRunning({ service: 'contract-read-listeners' });
      const monitor = new AbortController();
      if (lacks('filesystem')) {
        for (let pass = 0; pass < 15; pass += 1)
          await saysUnsupported(engine.readPath(instance.id, '/tmp', { signal: monitor.signal }));
        assert.equal(getEventListeners(monitor.signal, 'abort').length, 0);
        return;
      }
      await fixture.dropInTmp(instance.id);

      for (let pass = 0; pass < 15; pass += 1) {
        const stream = await engine.readPath(instance.id, '/tmp', { signal: monitor.signal });
        for await (const _chunk of stream) {
          // drained, as the integrity monitor drains it every second
        }
      }

      assert.equal(getEventListeners(monitor.signal, 'abort').length, 0);
    });

    it('reports an exec session on an instance as an exec event', async () => {
      const instance = await createRunning({ service: 'contract-exec' });
      const abort = new AbortController();
      const seen: EngineEvent[] = [];
      const stream = engine.events(abort.signal);
      const collecting = (async () => {
        for await (const event of stream) seen.push(event);
      })();

      await fixture.exec(instance.id);
      const exec = await eventually(patience(), async () =>
        seen.find((event) => event.id === instance.id && event.kind === 'exec'),
      );
      abort.abort();
      await collecting;

      // An engine that cannot see an exec must not invent one either (its docs say where to look).
      if (lacks('exec-events')) assert.equal(exec, undefined, JSON.stringify(exec));
      else assert.ok(exec, `no exec event among ${JSON.stringify(seen)}`);
    });

    it('replays from the cursor of an event what happened while nobody listened', async () => {
      const abort = new AbortController();
      const seen: EngineEvent[] = [];
      const stream = engine.events(abort.signal);
      const collecting = (async () => {
        for await (const event of stream) seen.push(event);
      })();
      const instance = await createRunning({ service: 'contract-replay' });
      const started = await eventually(patience(), async () =>
        seen.find((event) => event.id === instance.id && event.kind === 'started'),
      );
      abort.abort();
      await collecting;
      assert.ok(started?.cursor, `no cursor on ${JSON.stringify(started)}`);

      // What happens while nobody listens: an exec, or the instance's removal where execs are no events.
      const missed = lacks('exec-events') ? 'removed' : 'exec';
      if (missed === 'exec') await fixture.exec(instance.id);
      else await engine.remove(instance.id);
      const replay = new AbortController();
      const replayed: EngineEvent[] = [];
      const again = engine.events(replay.signal, { since: started.cursor });
      const replaying = (async () => {
        for await (const event of again) replayed.push(event);
      })();
      const exec = await eventually(patience(), async () =>
        replayed.find((event) => event.id === instance.id && event.kind === missed),
      );
      replay.abort();
      await replaying;

      assert.ok(exec, `the exec was not replayed: ${JSON.stringify(replayed)}`);
      assert.ok(exec.cursor, 'a replayed event has its own cursor');
    });

    it('lists the processes of a running instance from outside: the init as pid 1, the workload under it with the file it runs', async () => {
      const instance = await createRunning({ service: 'contract-processes' });
      if (lacks('processes')) return saysUnsupported(engine.processes(instance.id));

      const processes = await eventually(patience(), async () => {
        const listed = await engine.processes(instance.id);
        return listed.some((one) => one.executable === fixture.workloadExecutable) ? listed : undefined;
      });
      const hashed = await engine.processes(instance.id, { hash: true });

      const init = processes?.find((one) => one.pid === 1);
      const workload = processes?.find((one) => one.executable === fixture.workloadExecutable);
      assert.equal(init?.ppid, 0, JSON.stringify(processes));
      assert.ok(init?.executable?.startsWith('/'), `init runs ${init?.executable}`);
      assert.equal(workload?.ppid, 1);
      assert.equal(workload?.user, '65532');
      assert.ok(workload?.command.includes(fixture.workloadExecutable));
      assert.equal(workload?.outside, undefined);
      assert.equal(
        processes?.some((one) => one.sha256 !== undefined),
        false,
        'no hashes unless asked',
      );
      for (const one of hashed.filter((process) => process.executable))
        assert.match(one.sha256 ?? '', /^[0-9a-f]{64}$/);
    });

    it("sees a process entered into the instance from outside, and that the file it runs is not the instance's", async () => {
      const instance = await createRunning({ service: 'contract-stray' });
      if (lacks('processes')) return saysUnsupported(engine.processes(instance.id, { hash: true }));
      await eventually(patience(), async () =>
        (await engine.processes(instance.id)).some((one) => one.executable === fixture.workloadExecutable)
          ? true
          : undefined,
      );

      const stray = await fixture.startStray(instance.id);
      try {
        const seen = await eventually(patience(), async () =>
          (await engine.processes(instance.id)).find((one) => one.executable === stray.executable),
        );

        assert.ok(seen, `no process running ${stray.executable} in ${instance.id}`);
        assert.notEqual(seen.pid, 1);
        assert.equal(seen.outside, true);
      } finally {
        await stray.stop();
      }
    });

    it('reports the CPU time an instance used, growing while it works and within its CPU limit', async () => {
      if (!engine.stats) {
        // `stats` is optional (the autoscaler's cpu metric is then unmeasured); nothing to burn for.
        assert.equal(fixture.burnCpu, undefined, 'burnCpu is given for an engine without stats');
        return;
      }
      assert.ok(fixture.burnCpu, 'an engine with stats needs burnCpu in its contract fixture');
      const spec = fixture.spec({ service: 'contract-stats' });
      const instance = await createRunning({ service: 'contract-stats' });
      const limit = spec.resources.nanoCpus / 1e9;

      const before = await engine.stats(instance.id);
      const started = Date.now();
      await fixture.burnCpu(instance, 300);
      const wallSeconds = (Date.now() - started) / 1000;
      const after = await engine.stats(instance.id);
      const used = after.cpuSeconds - before.cpuSeconds;

      assert.ok(used >= 0.29, `used ${used} s of CPU while burning 0.3 s`);
      // A cgroup's quota is enforced per 100 ms period: allow one period's worth beyond the limit.
      assert.ok(
        used <= limit * wallSeconds + 0.1,
        `used ${used} s in ${wallSeconds} s at a limit of ${limit}`,
      );
      assert.ok(after.at >= before.at);
      await assert.rejects(engine.stats('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'), {
        code: 'NOT_FOUND',
      });
    });

    it('says NOT_FOUND for the processes of an instance it does not have', async () => {
      if (lacks('processes')) return saysUnsupported(engine.processes('no-such-instance'));
      await assert.rejects(
        engine.processes('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'),
        {
          code: 'NOT_FOUND',
        },
      );
    });

    it('runs a debug program as the instance user: stdin in, stdout and stderr out, the exit code, and an exec event', async () => {
      const instance = await createRunning({ service: 'contract-debug' });
      if (lacks('debug-exec'))
        return saysUnsupported(engine.debugExec(instance.id, { command: fixture.debugCommand, tty: false }));
      const abort = new AbortController();
      const seen: EngineEvent[] = [];
      const events = engine.events(abort.signal);
      const collecting = (async () => {
        for await (const event of events) seen.push(event);
      })();

      const passing = await engine.debugExec(instance.id, { command: fixture.debugCommand, tty: false });
      passing.write(Buffer.from('hello\nworld\n'));
      passing.endInput();
      const passed = await drain(passing.output);
      const failing = await engine.debugExec(instance.id, { command: fixture.debugCommand, tty: false });
      failing.write(Buffer.from('fail\n'));
      const failed = await drain(failing.output);
      const exec = await eventually(patience(), async () =>
        seen.find((event) => event.id === instance.id && event.kind === 'exec'),
      );
      abort.abort();
      await collecting;

      assert.equal(passed.stdout, 'uid=65532 hello\nuid=65532 world\n');
      assert.equal(await passing.exitCode(), 0);
      assert.equal(failed.stderr, 'failing\n');
      assert.equal(await failing.exitCode(), 7);
      assert.ok(exec, 'a debug program is an exec to the engine like any other');
    });

    it('runs a debug program on a terminal, ending its input with the EOF character', async () => {
      const instance = await createRunning({ service: 'contract-debug-tty' });
      if (lacks('debug-exec'))
        return saysUnsupported(engine.debugExec(instance.id, { command: fixture.debugCommand, tty: true }));

      const session = await engine.debugExec(instance.id, {
        command: fixture.debugCommand,
        tty: true,
        size: { columns: 100, rows: 30 },
      });
      session.write(Buffer.from('hello\n'));
      session.endInput();
      const { stdout, stderr } = await drain(session.output);

      assert.match(stdout, /uid=65532 hello\r\n/);
      assert.equal(stderr, '', 'a terminal has one stream');
      assert.equal(await session.exitCode(), 0);
    });

    it('refuses to run an instance as root', async () => {
      const spec = fixture.spec({ service: 'contract-root', user: { uid: 0, gid: 0 } });
      await engine.ensureImage(spec);

      await assert.rejects(engine.create(spec), (error: unknown) => {
        assert.ok(error instanceof EngineError);
        assert.equal(error.code, 'CREATE');
        return true;
      });
      assert.deepEqual(await engine.list({ service: 'contract-root' }), []);
    });
  });
}

/** A debug program's output to its end, by stream. */
async function drain(
  output: AsyncIterable<{ stream: 'stdout' | 'stderr'; data: Buffer }>,
): Promise<{ stdout: string; stderr: string }> {
  const text = { stdout: '', stderr: '' };
  for await (const frame of output) text[frame.stream] += frame.data.toString('utf8');
  return text;
}

/** Polls `probe` until it returns a value or `ms` pass; engines report some things a moment later. */
async function eventually<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
