import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fleetHarness, template } from '../fleet/controller.test-support.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import type { TarEntry } from '../oci/tar.js';
import { type Digest, type ImageManifest, MediaType } from '../oci/types.js';
import { alertBodyOf } from './alert-webhook.js';
import { baselineOf, type FileManifestEntry } from './baseline.js';
import type { DriftEvidence } from './evidence.js';
import { IncidentResponse } from './incident-response.js';
import { IncidentStore } from './incident-store.js';
import { InstanceAllowlists } from './instance-allowlist.js';
import { watchedTemplates } from './integrity-watch.js';
import { ProcessMonitor } from './process-monitor.js';
import type { TrustedBaseline } from './trusted-manifest.js';

const size = 2;
const silent = { info: () => {}, warn: () => {} };
const secret = 'hunter2-the-password-on-the-command-line';
const serverBytes = Buffer.from('\x7fELF the server');
const manifest: FileManifestEntry[] = [
  { path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin/server', type: 'file', mode: 0o755, uid: 0, gid: 0, size: serverBytes.length },
  { path: '/usr/bin/helper', type: 'file', mode: 0o755, uid: 0, gid: 0, size: 4 },
];
const imageFiles: TarEntry[] = [
  {
    path: 'usr/bin/server',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: serverBytes.length,
    mtime: 0,
    data: serverBytes,
  },
];

describe('ProcessMonitor on the memory engine', () => {
  let root: string;
  let h: ReturnType<typeof fleetHarness>;
  let store: LayoutStore;
  let journal: Journal;
  let incidents: IncidentStore;
  let digest: Digest;
  let trust: TrustedBaseline;

  function monitor(options: { held?: (id: string) => boolean } = {}) {
    const responder = new IncidentResponse({
      store,
      journal,
      incidents,
      fleets: h.controller,
      actor: 'test',
      now: () => h.clock.now(),
      log: silent,
    });
    const templateOf = watchedTemplates(h.controller);
    const allowlists = new InstanceAllowlists({ store, engine: h.engine, baselineOf: async () => trust });
    return new ProcessMonitor({
      engine: h.engine,
      allowlistOf: async (instance) => {
        const found = templateOf(instance);
        return found.kind === 'known' ? allowlists.of(instance, found.processes) : undefined;
      },
      responder,
      clock: h.clock,
      ...(options.held ? { held: options.held } : {}),
    });
  }

  async function rollout(processes?: string[]) {
    await h.controller.rollout(
      'web',
      { revision: 'r1', digest },
      {
        template: template(
          {
            size,
            strategy: {
              maxSurge: 1,
              maxUnavailable: 0,
              minReadySeconds: 1,
              progressDeadlineSeconds: 60,
              autoRevert: true,
            },
          },
          1,
          processes ? { processes } : {},
        ),
      },
    );
    await h.runUntil(() => h.statusIs('r1'));
    h.engine.resetPeak();
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-processes-'));
    store = new LayoutStore(root);
    await store.init();
    // What the engine runs comes from the image's config, as it does on a real engine.
    const config = await store.putJson(
      {
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/usr/bin/server'], Env: ['PATH=/usr/bin'] },
        rootfs: { type: 'layers', diff_ids: [] },
      },
      MediaType.imageConfig,
    );
    const image: ImageManifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] };
    digest = (await store.putJson(image, MediaType.imageManifest)).digest;
    h = fleetHarness();
    journal = new Journal(h.db, { clock: h.clock });
    incidents = new IncidentStore(h.db);
    trust = { kind: 'trusted', baseline: baselineOf(manifest), keyFingerprint: 'test' };
    h.engine.setImageFiles(digest, imageFiles);
    h.engine.setImageCommand(digest, ['/usr/bin/server']);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds nothing for ten seconds on instances that run only their entrypoint under the init', async () => {
    await rollout();
    const watch = monitor();

    for (let second = 0; second < 10; second += 1) {
      await watch.tick();
      h.clock.advance(1000);
    }

    assert.deepEqual(incidents.list(), []);
    assert.equal((await h.engine.list()).length, size);
  });

  it('finds a shell entered from the host: out of the front door, the tree and command line in the evidence only, replaced pristine-first', async () => {
    await rollout();
    const [victim] = await h.engine.list();
    const shell = h.engine.plantProcess(victim!.id, {
      user: '0',
      command: `sh -c "mysql --password=${secret}"`,
      executable: '/usr/bin/dash',
      outside: true,
    });
    const watch = monitor();

    await watch.tick();
    const [incident] = incidents.list();
    const servingAtDetection = h.frontDoor.serving().map((one) => one.port);
    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id));
    await h.runUntil(() => h.statusIs('r1'));

    assert.equal(incident?.kind, 'process');
    assert.equal(incident?.instance, victim!.id);
    assert.equal(incident?.quarantine, 'out-of-door');
    assert.ok(!servingAtDetection.includes(victim!.address!.port), 'out of the front door at detection');
    assert.match(
      incident?.summary ?? '',
      /^process \/usr\/bin\/dash \(pid \d+, runs a file from outside the instance/,
    );
    const evidenceManifest = await store.getManifest(incident!.evidenceDigest as Digest);
    const evidence = JSON.parse(
      (await store.getBlob(evidenceManifest.layers[0]!.digest)).toString(),
    ) as DriftEvidence;
    assert.equal(evidence.source, 'process');
    assert.deepEqual(
      evidence.processes?.tree.map((one) => [one.pid, one.ppid, one.executable]),
      [
        [1, 0, '/run/podman-init'],
        [2, 1, '/usr/bin/server'],
        [shell, 0, '/usr/bin/dash'],
      ],
    );
    const entered = evidence.processes?.tree.find((one) => one.pid === shell);
    assert.ok(entered?.command.includes(secret), 'the command line is kept in the evidence');
    assert.match(entered?.sha256 ?? '', /^[0-9a-f]{64}$/, 'with the executable hash');
    const entry = journal.list().find((one) => one.action === 'incident');
    assert.equal(entry?.details.evidence, incident?.evidenceDigest);
    assert.deepEqual(entry?.details.processes, [
      {
        pid: shell,
        executable: '/usr/bin/dash',
        reason: 'runs a file from outside the instance (entered from the host)',
      },
    ]);
    for (const [where, text] of [
      ['journal', JSON.stringify(journal.list())],
      ['incident', JSON.stringify(incidents.list())],
      ['alert', JSON.stringify(alertBodyOf(incident!))],
    ] as const) {
      assert.ok(!text.includes(secret), `the ${where} holds the command line`);
    }
    assert.equal(h.engine.peakRunning, size + 1, 'a pristine instance started before the changed one went');
    assert.ok(h.frontDoor.minServing >= size - 1, `serving dropped to ${h.frontDoor.minServing}`);
  });

  it("finds a program the app started that is not the image's entrypoint", async () => {
    await rollout();
    const [victim] = await h.engine.list();
    h.engine.plantProcess(victim!.id, { ppid: 2, user: '65532', command: 'x', executable: '/tmp/.x/miner' });
    const watch = monitor();

    await watch.tick();

    assert.deepEqual(
      incidents.list().map((one) => [one.instance, one.kind, one.summary]),
      [[victim!.id, 'process', "process /tmp/.x/miner (pid 3, not the image's entrypoint or init)"]],
    );
  });

  it('takes run.processes as the whole list when the spec has one', async () => {
    await rollout(['/usr/bin/server', '/usr/bin/helper']);
    const [first, second] = await h.engine.list();
    h.engine.plantProcess(first!.id, {
      ppid: 2,
      user: '65532',
      command: 'helper',
      executable: '/usr/bin/helper',
    });
    h.engine.plantProcess(second!.id, {
      ppid: 2,
      user: '65532',
      command: 'perl',
      executable: '/usr/bin/perl',
    });
    const watch = monitor();

    await watch.tick();

    assert.deepEqual(
      incidents.list().map((one) => [one.instance, one.summary]),
      [[second!.id, 'process /usr/bin/perl (pid 3, not in run.processes)']],
    );
  });

  it('does not sample an instance someone holds (a debug session)', async () => {
    await rollout();
    const [held, other] = await h.engine.list();
    for (const one of [held, other]) {
      h.engine.plantProcess(one!.id, { user: '65532', command: 'sh', executable: '/usr/bin/dash' });
    }
    const watch = monitor({ held: (id) => id === held!.id });

    await watch.tick();

    assert.deepEqual(
      incidents.list().map((one) => one.instance),
      [other!.id],
    );
  });

  it("judges nothing when the image's file manifest is not trusted (the integrity monitor says so)", async () => {
    await rollout();
    const [instance] = await h.engine.list();
    h.engine.plantProcess(instance!.id, { user: '65532', command: 'sh', executable: '/usr/bin/dash' });
    trust = { kind: 'untrusted', code: 'MANIFEST_MISSING', reason: 'no manifest' };
    const watch = monitor();

    await watch.tick();

    assert.deepEqual(incidents.list(), []);
  });
});
