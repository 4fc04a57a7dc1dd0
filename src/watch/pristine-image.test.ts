/**
 * A replacement is pristine even when the engine's copy of the image was changed on the host: the
 * watch judges every instance of it, the controller removes them and the image, fetches the image
 * anew, and each new instance takes traffic only after a clean deep check. Memory engine, real
 * controller, monitor and incident response; podman in test/watch-pristine-e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { template } from '../fleet/controller.test-support.js';
import type { FleetEvent } from '../fleet/types.js';
import { readTar } from '../oci/tar.js';
import { defaultDeepIntervalMs } from './integrity-monitor.js';
import { forgedBytes, imageFiles, payload, serverBytes, watchHarness } from './watch.test-support.js';

type Harness = Awaited<ReturnType<typeof watchHarness>>;
const forgedServer = { ...imageFiles[2]!, size: forgedBytes.length, data: forgedBytes };

/** The bytes of /usr/bin/server as the instance's export holds them now. */
async function serverOf(w: Harness, id: string): Promise<string> {
  const stream = await w.h.engine.exportFilesystem(id, {});
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  const entry = readTar(Buffer.concat(chunks)).find((one) => one.path === 'usr/bin/server');
  return entry?.data?.toString() ?? '';
}

const reloads = (events: FleetEvent[]) =>
  events.filter(
    (event): event is Extract<FleetEvent, { kind: 'image-reloaded' }> => event.kind === 'image-reloaded',
  );

describe('a tampered image, on the memory engine', () => {
  let w: Harness;

  beforeEach(async () => {
    w = await watchHarness({ size: 2 });
  });

  afterEach(async () => {
    await w.close();
  });

  it('judges every instance of it, removes them and the image, and fetches the image anew', async () => {
    const { h } = w;
    const before = (await h.engine.list()).map((one) => one.id).sort();
    h.engine.tamperImage(w.digest, forgedServer);
    const watch = w.monitor();

    await watch.verifyInstance(before[0]!);
    await watch.whenIdle();

    const incidents = w.incidents.list();
    assert.deepEqual(
      incidents.map((one) => one.instance).sort(),
      before,
      'each instance has its own incident',
    );
    for (const incident of incidents) {
      assert.match(incident.summary, /^deep path: \/usr\/bin\/server \(sha256 differs from the manifest\)/);
    }
    assert.deepEqual(await h.engine.list(), [], 'every instance of the tampered copy is gone');
    assert.equal(h.engine.fetchesOf(w.digest), 2, 'fetched at the rollout, and again after the tampering');
    const [reload] = reloads(h.events);
    assert.deepEqual(reload?.removed.sort(), before);
    assert.equal(reload?.service, 'web');
    assert.match(reload?.reason ?? '', /^deep path: \/usr\/bin\/server \(sha256 differs/);
  });

  it('lets a replacement take traffic only once its deep check passed, and it holds the image as signed', async () => {
    const { h } = w;
    h.engine.tamperImage(w.digest, forgedServer);
    const watch = w.monitor();
    await watch.verifyInstance((await h.engine.list())[0]!.id);
    await watch.whenIdle();

    // Without the watch: the replacements pass their health checks, yet nothing is ready.
    for (let second = 0; second < 5; second++) {
      await h.controller.sync();
      h.clock.advance(1000);
    }
    const waiting = await h.controller.status('web');
    await watch.tick();
    await watch.whenIdle();
    await h.runUntil(async () => (await h.controller.status('web')).ready === 2);

    assert.equal(waiting.instances.length, 2);
    assert.ok(
      waiting.instances.every((one) => one.unverified && !one.ready),
      JSON.stringify(waiting),
    );
    assert.deepEqual(h.frontDoor.backends.length, 2);
    for (const one of await h.engine.list()) {
      assert.equal(await serverOf(w, one.id), serverBytes.toString());
      assert.deepEqual((await watch.verifyInstance(one.id)).findings, []);
    }
    assert.equal(w.incidents.list().length, 2, 'no incident for the replacements');
  });

  it('makes no instance from the held copy while the watch judges it', async () => {
    const { h } = w;
    const [victim] = await h.engine.list();
    h.controller.holdImage(w.digest);
    await h.controller.quarantine('web', victim!.id, { reason: 'drift' });
    const created = h.events.length;

    for (let second = 0; second < 10; second++) {
      await h.controller.sync();
      h.clock.advance(1000);
    }

    assert.deepEqual(
      h.events.slice(created).filter((event) => event.kind === 'instance-created'),
      [],
    );
    assert.ok(
      (await h.engine.list()).some((one) => one.id === victim!.id),
      'kept until the reload',
    );
  });

  it('makes instances of a held image again once the hold lapses without a reload (5 minutes)', async () => {
    const { h } = w;
    const [victim] = await h.engine.list();
    h.controller.holdImage(w.digest);
    await h.controller.quarantine('web', victim!.id, { reason: 'drift' });
    // The replacement takes traffic once the watch's deep check passed it (the copy is as signed).
    const watch = w.monitor();

    const seconds = await h.runUntil(
      async () => !(await h.engine.list()).some((one) => one.id === victim!.id),
      { watch: () => watch.tick().then(() => watch.whenIdle()) },
    );

    assert.ok(seconds >= 300, `replaced after ${seconds} s`);
  });

  it('deep-checks the instances made after a hold lapsed before they take traffic: the copy was never fetched anew', async () => {
    const { h } = w;
    const [victim] = await h.engine.list();
    h.controller.holdImage(w.digest);
    await h.controller.quarantine('web', victim!.id, { reason: 'drift' });
    const before = new Set((await h.engine.list()).map((one) => one.id));

    await h.runUntil(async () => (await h.engine.list()).some((one) => !before.has(one.id)), {
      maxSeconds: 400,
    });

    const made = (await h.engine.list()).filter((one) => !before.has(one.id));
    assert.ok(made.length > 0);
    for (const one of made)
      assert.equal(h.controller.awaitsVerification(one), true, `${one.id} awaits its check`);
  });

  it('fetches the image anew after a change to an image file in the read-only root, seen by the fast path', async () => {
    const { h } = w;
    const [victim] = await h.engine.list();
    h.engine.plantChange(victim!.id, { path: '/usr/bin/server', kind: 'modified' }, forgedServer);
    const watch = w.monitor();

    await watch.tick();
    await watch.whenIdle();

    assert.equal(
      w.incidents.list().find((one) => one.instance === victim!.id)?.summary,
      'fast path: /usr/bin/server (modified in the upper layer)',
    );
    assert.equal(h.engine.fetchesOf(w.digest), 2);
    assert.equal(reloads(h.events).length, 1);
  });

  it('refuses a second reload of the same image within ten minutes, and its replacements that fail their deep check never take traffic', async () => {
    const { h } = w;
    h.engine.tamperImage(w.digest, forgedServer);
    const watch = w.monitor();
    await watch.verifyInstance((await h.engine.list())[0]!.id);
    await watch.whenIdle();
    // The host changes the copy again, at once.
    h.engine.tamperImage(w.digest, forgedServer);
    const everReady = new Set<string>();

    await h
      .runUntil(async () => false, {
        maxSeconds: 60,
        watch: async () => {
          await watch.tick();
          await watch.whenIdle();
          for (const one of (await h.controller.status('web')).instances)
            if (one.ready) everReady.add(one.id);
        },
      })
      .catch(() => undefined);
    const status = await h.controller.status('web');

    assert.deepEqual([...everReady], [], 'no instance of the changed copy took traffic');
    assert.deepEqual(h.frontDoor.backends, []);
    assert.equal(reloads(h.events).length, 1, 'one reload, then refused');
    assert.equal(h.engine.fetchesOf(w.digest), 2);
    assert.ok(w.incidents.list().length > 2, 'each failed replacement is an incident');
    assert.equal(status.degraded, true, 'replacements that fail their check back the fleet off');
  });

  it('finds a change to the layers on the host with the periodic deep check of one random instance', async () => {
    const { h } = w;
    const ids = (await h.engine.list()).map((one) => one.id);
    const watch = w.monitor({ deepIntervalMs: 60_000, random: () => 0.99 });
    await watch.tick();
    h.engine.tamperImage(w.digest, forgedServer);

    h.clock.advance(59_000);
    await watch.tick();
    await watch.whenIdle();
    const early = w.incidents.list().length;
    h.clock.advance(1_000);
    await watch.tick();
    await watch.whenIdle();

    assert.equal(early, 0, 'not before the interval');
    const [first] = w.incidents.list().sort((a, b) => a.id - b.id);
    assert.equal(first?.instance, ids[1], 'the instance the random pick named, then the other');
    assert.equal(reloads(h.events).length, 1);
  });

  it('deep-checks each fleet as soon as a restarted control plane sees it: a reload cut short by a kill -9 leaves no tampered copy serving for an interval', async () => {
    const { h } = w;
    // The crash: the reload had removed the instances, not yet the image, when herd died; the
    // hold and the marks were in memory. The restarted controller makes the fleet from the copy.
    h.engine.tamperImage(w.digest, forgedServer);
    for (const one of await h.engine.list()) await h.engine.remove(one.id);
    h.restart();
    await h.runUntil(
      async () => (await h.engine.list()).filter((one) => one.state === 'running').length === 2,
    );
    const watch = w.monitor({ deepIntervalMs: defaultDeepIntervalMs });

    await watch.tick();
    await watch.whenIdle();

    assert.ok(w.incidents.list().length > 0, 'an incident at the first pass, not after 5 minutes');
    assert.equal(reloads(h.events).length, 1, 'the copy is fetched anew');
  });

  it("takes the fleet's own deep check interval from its spec's watch section", async () => {
    const { h } = w;
    await h.controller.rollout(
      'web',
      { revision: 'r1', digest: w.digest },
      {
        template: {
          ...template({ size: 2, strategy: w.strategy }),
          watch: { deepCheck: { intervalSeconds: 10 } },
        },
      },
    );
    const watch = w.monitor({
      deepIntervalMs: 60 * 60_000,
      deepIntervalOf: (service) => {
        const seconds = h.controller.templateOf(service)?.watch?.deepCheck?.intervalSeconds;
        return seconds === undefined ? undefined : seconds * 1000;
      },
    });
    // The first sight's check, of the copy as signed.
    await watch.tick();
    await watch.whenIdle();
    h.engine.tamperImage(w.digest, forgedServer);

    h.clock.advance(10_000);
    await watch.tick();
    await watch.whenIdle();

    assert.equal(w.incidents.list().length, 2);
  });
});

describe('a writable root, on the memory engine', () => {
  let w: Harness;

  beforeEach(async () => {
    const strategy = {
      maxSurge: 1,
      maxUnavailable: 0,
      minReadySeconds: 1,
      progressDeadlineSeconds: 60,
      autoRevert: true,
    };
    w = await watchHarness({ template: template({ size: 2, strategy }, 1, { writableRoot: true }) });
  });

  afterEach(async () => {
    await w.close();
  });

  it('replaces an instance whose own upper layer changed, without fetching the image anew', async () => {
    const { h } = w;
    const [victim] = await h.engine.list();
    h.engine.plantChange(victim!.id, { path: '/usr/bin/server', kind: 'modified' }, forgedServer);
    const watch = w.monitor();

    await watch.tick();
    await watch.whenIdle();
    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id), {
      watch: () => watch.tick(),
    });

    assert.equal(w.incidents.list()[0]?.instance, victim!.id);
    assert.equal(h.engine.fetchesOf(w.digest), 1);
    assert.deepEqual(reloads(h.events), []);
    assert.ok((await h.controller.status('web')).instances.every((one) => !one.unverified));
  });

  it('fetches it anew when the deep check finds a change its upper layer does not explain', async () => {
    const { h } = w;
    h.engine.tamperImage(w.digest, forgedServer);
    const watch = w.monitor();

    await watch.verifyInstance((await h.engine.list())[0]!.id);
    await watch.whenIdle();

    assert.equal(reloads(h.events).length, 1);
  });
});

describe('blind spots, on the memory engine', () => {
  it('finds an executable in /dev/shm, which no spec declares', async () => {
    const w = await watchHarness();
    try {
      const [victim] = await w.h.engine.list();
      w.h.engine.plantFile(victim!.id, payload('dev/shm/x'));
      const watch = w.monitor();

      await watch.tick();

      const [incident] = w.incidents.list();
      assert.equal(incident?.instance, victim!.id);
      assert.equal(incident?.summary, 'fast path: /dev/shm/x (executable in writable /dev/shm)');
    } finally {
      await w.close();
    }
  });

  it("does not take podman's init under a writable /run for drift, and still finds what else runs there", async () => {
    const strategy = {
      maxSurge: 1,
      maxUnavailable: 0,
      minReadySeconds: 1,
      progressDeadlineSeconds: 60,
      autoRevert: true,
    };
    const w = await watchHarness({
      template: template({ size: 2, strategy }, 1, { writable: ['/run', '/tmp'] }),
    });
    try {
      const { h } = w;
      const [first, second] = await h.engine.list();
      for (const one of [first, second])
        h.engine.plantFile(one!.id, { ...payload('run/podman-init'), uid: 0, gid: 0 });
      h.engine.plantFile(first!.id, { ...payload('run/.containerenv'), mode: 0o644 });
      const watch = w.monitor();

      for (let second = 0; second < 10; second++) {
        await watch.tick();
        h.clock.advance(1000);
      }
      const quiet = w.incidents.list().length;
      h.engine.plantFile(second!.id, payload('run/helper'));
      await watch.tick();

      assert.equal(quiet, 0);
      assert.equal(w.incidents.list()[0]?.summary, 'fast path: /run/helper (executable in writable /run)');
    } finally {
      await w.close();
    }
  });

  it('replays an exec that happened while the monitor was down, once, however often it restarts', async () => {
    const w = await watchHarness();
    try {
      const { h } = w;
      const first = w.monitor();
      first.start();
      // Something the first monitor sees: its cursor goes to herd.db.
      await h.controller.scale('web', 3);
      await h.runUntil(async () => (await h.engine.list()).length === 3);
      await eventually(() => h.db.prepare('SELECT cursor FROM watch_event_cursor').get() !== undefined);
      await first.stop();
      const [victim] = await h.engine.list();

      h.engine.simulateExec(victim!.id, 'sh');
      for (let restart = 0; restart < 2; restart++) {
        const next = w.monitor();
        next.start();
        await eventually(() => w.incidents.list().length > 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await next.stop();
      }

      const incidents = w.incidents.list();
      assert.equal(incidents.length, 1);
      assert.equal(incidents[0]?.kind, 'exec');
      assert.equal(incidents[0]?.instance, victim!.id);
    } finally {
      await w.close();
    }
  });

  it('misses the same exec without a kept cursor: the replay is what finds it', async () => {
    const w = await watchHarness();
    try {
      const { h } = w;
      const [victim] = await h.engine.list();
      h.engine.simulateExec(victim!.id, 'sh');
      const watch = w.monitor({ eventCursor: { read: () => undefined, write: () => {} } });

      watch.start();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await watch.stop();

      assert.deepEqual(w.incidents.list(), []);
    } finally {
      await w.close();
    }
  });

  it('takes an instance whose exec incident is still open out of service again after a kill -9, though its event is not replayed', async () => {
    const w = await watchHarness();
    try {
      const { h } = w;
      const first = w.monitor();
      first.start();
      // Something the first monitor sees: its event stream is followed, and its cursor kept.
      await h.controller.scale('web', 3);
      await h.runUntil(async () => (await h.engine.list()).length === 3);
      await eventually(() => h.db.prepare('SELECT cursor FROM watch_event_cursor').get() !== undefined);
      const [victim] = await h.engine.list();
      h.engine.simulateExec(victim!.id, 'sh');
      await eventually(() => w.incidents.list().length > 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await first.stop();
      // Killed before the replacement was ready: the quarantine was in the old controller's memory.
      h.restart();
      const next = w.monitor();
      next.start();

      await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id), {
        maxSeconds: 30,
      });
      await next.stop();

      assert.equal(w.incidents.list().length, 1, 'no second incident');
    } finally {
      await w.close();
    }
  });
});

async function eventually(probe: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
