import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fleetHarness, template } from '../fleet/controller.test-support.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type Digest, type ImageManifest, MediaType } from '../oci/types.js';
import { DebugSessionStore } from './debug-session-store.js';
import { type DebugRequest, type DebugSession, DebugSessions } from './debug-sessions.js';
import { DebugError } from './errors.js';
import { transcriptArtifactType, transcriptMediaType } from './transcript.js';

const silent = { info: () => {}, warn: () => {} };
const shell = Buffer.from('#!/the/memory/engine/echo\n');

async function drain(session: DebugSession): Promise<{ stdout: string; notices: string }> {
  const text = { stdout: '', notices: '' };
  for await (const piece of session.output) {
    if (piece.kind === 'notice') text.notices += piece.data.toString();
    else text.stdout += piece.data.toString();
  }
  return text;
}

describe('DebugSessions on the memory engine', () => {
  let root: string;
  let h: ReturnType<typeof fleetHarness>;
  let store: LayoutStore;
  let journal: Journal;
  let digest: Digest;

  function sessions(options: { transcriptLimitBytes?: number } = {}) {
    return new DebugSessions({
      engine: h.engine,
      fleets: h.controller,
      store,
      journal,
      db: h.db,
      spoolDir: join(root, 'debug'),
      clock: h.clock,
      log: silent,
      ...options,
    });
  }

  function request(instance: string, overrides: Partial<DebugRequest> = {}): DebugRequest {
    return {
      instance,
      reason: 'INC-42: requests hang after deploy',
      ttlSeconds: 600,
      command: ['/bin/sh'],
      tty: false,
      actor: 'local:alice',
      ...overrides,
    };
  }

  async function fleetOf(size: number) {
    await h.controller.rollout(
      'web',
      { revision: 'r1', digest },
      {
        template: template({
          size,
          strategy: {
            maxSurge: 1,
            maxUnavailable: 0,
            minReadySeconds: 1,
            progressDeadlineSeconds: 60,
            autoRevert: true,
          },
        }),
      },
    );
    await h.runUntil(() => h.statusIs('r1'));
    h.engine.resetPeak();
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-debug-'));
    store = new LayoutStore(join(root, 'store'));
    await store.init();
    const config = await store.putJson(
      { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
      MediaType.imageConfig,
    );
    const image: ImageManifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] };
    digest = (await store.putJson(image, MediaType.imageManifest)).digest;
    h = fleetHarness();
    journal = new Journal(h.db, { clock: h.clock });
    h.engine.setImageFiles(digest, [
      {
        path: 'bin/sh',
        type: 'file',
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: shell.length,
        mtime: 0,
        data: shell,
      },
    ]);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('journals the reason, takes the instance out of the door and holds it, records the session, then destroys the instance', async () => {
    await fleetOf(2);
    const [victim] = await h.engine.list();
    const debug = sessions();

    const session = await debug.open(request(victim!.id));
    const started = journal.list().find((one) => one.action === 'debug');
    const servingAtStart = h.frontDoor.serving().map((one) => one.port);
    // While the session runs, the fleet replaces the held instance surge-first.
    await h.runUntil(
      async () => (await h.engine.list()).length === 3 && (await h.controller.status('web')).ready === 2,
    );
    session.write(Buffer.from('id\n'));
    session.endInput();
    const { stdout, notices } = await drain(session);
    const end = await session.ended;
    await h.runUntil(() => h.statusIs('r1'));

    assert.equal(session.instance.id, victim!.id);
    assert.equal(started?.actor, 'local:alice');
    assert.deepEqual(started?.details, {
      session: session.id,
      instance: victim!.id,
      revision: 'r1',
      reason: 'INC-42: requests hang after deploy',
      ttlSeconds: 600,
      command: ['/bin/sh'],
      quarantine: 'out-of-door',
    });
    assert.ok(
      !servingAtStart.includes(victim!.address!.port),
      'out of the front door before the program ran',
    );
    assert.equal(stdout, 'uid=65532 id\n');
    assert.match(notices, /recorded, and the instance is destroyed when it ends/);
    assert.deepEqual(
      { ...end, transcript: undefined },
      {
        session: session.id,
        instance: victim!.id,
        ended: 'exit',
        exitCode: 0,
        transcript: undefined,
        destroyed: true,
      },
    );
    assert.ok(!(await h.engine.list()).some((one) => one.id === victim!.id), 'the instance is gone');
    // Held still: the session's own exec can be read from the engine's events after the instance went.
    assert.equal(debug.holds(victim!.id), true);
    const referrers = await store.referrers(digest, { artifactType: transcriptArtifactType });
    assert.deepEqual(
      referrers.map((one) => one.digest),
      [end.transcript],
    );
    const transcriptManifest = await store.getManifest(end.transcript as Digest);
    assert.equal(transcriptManifest.layers[0]?.mediaType, transcriptMediaType);
    const lines = (await store.getBlob(transcriptManifest.layers[0]!.digest)).toString().trim().split('\n');
    assert.equal(JSON.parse(lines[0]!).version, 2);
    assert.deepEqual(
      lines.slice(1).map((line) => (JSON.parse(line) as [number, string, string]).slice(1)),
      [
        ['i', 'id\n'],
        ['o', 'uid=65532 id\n'],
        ['m', 'the program exited with 0'],
      ],
    );
    const ended = journal.list().find((one) => one.action === 'debug-end');
    assert.equal(ended?.details.transcript, end.transcript);
    assert.equal(ended?.details.ended, 'exit');
    assert.equal(h.engine.peakRunning, 3, 'the fleet replaced it surge-first');
    assert.ok(h.frontDoor.minServing >= 1);
    assert.deepEqual(
      await readdir(join(root, 'debug')),
      [],
      'the spool is gone once the transcript is stored',
    );
    const row = new DebugSessionStore(h.db).get(session.id);
    assert.ok(row?.destroyedAt);
  });

  it('refuses an unknown instance, a prefix of two, and a program the image lacks, before changing anything', async () => {
    await fleetOf(2);
    const [first] = await h.engine.list();
    const debug = sessions();
    const before = journal.list().length;

    await assert.rejects(debug.open(request('nope')), { code: 'INSTANCE_NOT_FOUND' });
    await assert.rejects(debug.open(request('mem-')), { code: 'INSTANCE_AMBIGUOUS' });
    await assert.rejects(
      debug.open(request(first!.id, { command: ['/usr/bin/bash'] })),
      (error: unknown) =>
        error instanceof DebugError &&
        error.code === 'PROGRAM_MISSING' &&
        /\/usr\/bin\/bash is not in instance/.test(error.message),
    );

    assert.equal(journal.list().length, before);
    assert.equal(debug.holds(first!.id), false);
    assert.deepEqual(
      h.frontDoor.drained.map((one) => one.port),
      [],
    );
  });

  it('ends the session when the TTL passes, and destroys the instance', async () => {
    await fleetOf(2);
    const [victim] = await h.engine.list();
    const debug = sessions();

    const session = await debug.open(request(victim!.id, { ttlSeconds: 30 }));
    session.write(Buffer.from('still here\n'));
    const reading = drain(session);
    await new Promise((resolve) => setImmediate(resolve));
    h.clock.advance(30_000);
    const end = await session.ended;
    await reading;

    assert.equal(end.ended, 'ttl');
    assert.equal(end.destroyed, true);
    assert.equal(journal.list().find((one) => one.action === 'debug-end')?.details.ended, 'ttl');
  });

  it('ends the session when the client goes away, and refuses a second session on the same instance meanwhile', async () => {
    await fleetOf(2);
    const [victim] = await h.engine.list();
    const debug = sessions();

    const session = await debug.open(request(victim!.id));
    await assert.rejects(debug.open(request(victim!.id)), { code: 'ALREADY_DEBUGGING' });
    assert.equal(debug.holds(victim!.id), true);
    session.disconnect();
    const end = await session.ended;

    assert.equal(end.ended, 'disconnected');
    assert.ok(!(await h.engine.list()).some((one) => one.id === victim!.id));
  });

  it('ends the session once the transcript is full: what is not recorded does not run', async () => {
    await fleetOf(2);
    const [victim] = await h.engine.list();
    const debug = sessions({ transcriptLimitBytes: 400 });

    const session = await debug.open(request(victim!.id));
    const reading = drain(session);
    for (let line = 0; line < 20; line += 1) session.write(Buffer.from(`line ${line} of much typing\n`));
    const end = await session.ended;
    const { stdout } = await reading;

    assert.equal(end.ended, 'transcript-full');
    assert.ok(stdout.split('\n').length < 20, 'input past the limit never reached the program');
  });

  it('waits for a replacement to take over the front door of a fleet of one before the program runs', async () => {
    await fleetOf(1);
    const [only] = await h.engine.list();
    const debug = sessions();

    const session = await debug.open(request(only!.id));
    session.write(Buffer.from('id\n'));
    session.endInput();
    const reading = drain(session);
    await h.runUntil(async () =>
      (await h.controller.status('web')).instances.some((one) => one.id !== only!.id && one.serving),
    );
    for (let tick = 0; tick < 5; tick += 1) {
      h.clock.advance(250);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const { stdout, notices } = await reading;
    const end = await session.ended;

    assert.equal(session.quarantine.kind, 'kept-serving');
    assert.match(notices, /waiting for its replacement to take over the front door/);
    assert.equal(stdout, 'uid=65532 id\n');
    assert.equal(end.ended, 'exit');
  });

  it('destroys at the next start what a session left when the control plane stopped, with the spooled transcript', async () => {
    await fleetOf(2);
    const [victim] = await h.engine.list();
    const rows = new DebugSessionStore(h.db);
    rows.begin({
      id: 'feedfacefeedface',
      service: 'web',
      instance: victim!.id,
      digest,
      actor: 'local:alice',
      reason: 'left behind',
      startedAt: '2025-01-01T00:00:00.000Z',
      expiresAt: '2025-01-01T00:10:00.000Z',
    });
    const spoolDir = join(root, 'debug');
    await mkdir(spoolDir, { recursive: true });
    await writeFile(
      join(spoolDir, 'feedfacefeedface.cast'),
      '{"version":2}\n[0.5,"i","cat /etc/shadow\\n"]\n',
    );

    const debug = sessions();
    assert.equal(debug.holds(victim!.id), true, 'tainted from herd.db before anything else');
    await debug.recover();

    assert.ok(!(await h.engine.list()).some((one) => one.id === victim!.id));
    assert.equal(debug.holds(victim!.id), true, 'an exec replayed from before the stop is the session’s');
    const ended = journal.list().find((one) => one.action === 'debug-end');
    assert.equal(ended?.details.ended, 'stopped');
    const manifest = await store.getManifest(ended?.details.transcript as Digest);
    assert.match((await store.getBlob(manifest.layers[0]!.digest)).toString(), /cat \/etc\/shadow/);
    assert.ok(rows.get('feedfacefeedface')?.destroyedAt);
    await assert.rejects(stat(join(spoolDir, 'feedfacefeedface.cast')), { code: 'ENOENT' });
  });
});
