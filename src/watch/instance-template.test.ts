/**
 * The watch judges each instance by the run template it was made from (its label's digest), never
 * by the fleet's current template: a rollout that changes the template must not turn the instances
 * still running into false incidents, nor hide what is wrong with them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { instanceLabels } from '../engines/engine.js';
import { digestB, fleetHarness, template } from '../fleet/controller.test-support.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type Digest, type ImageManifest, MediaType } from '../oci/types.js';
import type { RunTemplate } from '../specfile/run-template.js';
import { runTemplateDigest } from '../specfile/run-template.js';
import { baselineOf, type FileManifestEntry } from './baseline.js';
import { IncidentResponse } from './incident-response.js';
import { IncidentStore } from './incident-store.js';
import { IntegrityMonitor } from './integrity-monitor.js';
import { watchedTemplates } from './integrity-watch.js';

const silent = { info: () => {}, warn: () => {} };
const dir = (path: string): FileManifestEntry => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 0,
});
const manifest = ['/usr', '/usr/bin', '/tmp', '/var', '/var/cache', '/var/cache/app'].map(dir);
const strategy = {
  maxSurge: 1,
  maxUnavailable: 0,
  minReadySeconds: 1,
  progressDeadlineSeconds: 600,
  autoRevert: true,
};
/** Revision r1's run template: /var/cache/app is writable, besides /tmp. */
const withCache: Partial<RunTemplate> = { writable: ['/tmp', '/var/cache/app'] };

describe('each instance judged by its own run template', () => {
  let root: string;
  let h: ReturnType<typeof fleetHarness>;
  let incidents: IncidentStore;
  /** Revision r1's image, in the store so that evidence can be attached to it. */
  let digestA: Digest;

  function monitor() {
    const responder = new IncidentResponse({
      store: new LayoutStore(root),
      journal: new Journal(h.db, { clock: h.clock }),
      incidents,
      fleets: h.controller,
      actor: 'test',
      now: () => h.clock.now(),
      log: silent,
    });
    return new IntegrityMonitor({
      engine: h.engine,
      baselineOf: async () => ({ kind: 'trusted', baseline: baselineOf(manifest), keyFingerprint: 'test' }),
      templateOf: watchedTemplates(h.controller),
      responder,
      clock: h.clock,
      deepIntervalMs: 0,
    });
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-watch-template-'));
    const store = new LayoutStore(root);
    await store.init();
    const image: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: await store.putJson(
        { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
        MediaType.imageConfig,
      ),
      layers: [],
    };
    digestA = (await store.putJson(image, MediaType.imageManifest)).digest;
    h = fleetHarness();
    incidents = new IncidentStore(h.db);
    await h.controller.rollout(
      'web',
      { revision: 'r1', digest: digestA },
      { template: template({ size: 2, strategy }, 1, withCache) },
    );
    await h.runUntil(() => h.statusIs('r1'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('labels every instance with the digest of its run template', async () => {
    const expected = runTemplateDigest(template({}, 1, withCache).run);

    const labels = (await h.engine.list()).map((one) => one.labels[instanceLabels.template]);

    assert.deepEqual(labels, [expected, expected]);
  });

  it('keeps judging the old revision by its own writable paths while a revision without them rolls out', async () => {
    const old = await h.engine.list();
    // The engine shows the tmpfs mount point in the upper layer: noise for r1, whose template mounts it.
    for (const one of old) h.engine.plantChange(one.id, { path: '/var/cache/app', kind: 'added' });
    // r2 never gets healthy, so r1's instances keep running beside it.
    h.failing.add(digestB);
    await h.controller.rollout(
      'web',
      { revision: 'r2', digest: digestB },
      { template: template({ size: 2, strategy }) },
    );
    await h.runUntil(async () => (await h.engine.list()).some((one) => one.revision === 'r2'));
    const watch = monitor();

    await watch.tick();

    assert.deepEqual(incidents.list(), []);
    assert.deepEqual(
      h.controller.templateOf('web')?.run.writable,
      ['/tmp'],
      'the fleet moved on to /tmp only',
    );
  });

  it('still finds an executable in a writable path the fleet’s current template no longer has', async () => {
    const [victim] = await h.engine.list();
    const payload = Buffer.from('\x7fELF');
    h.engine.plantFile(victim!.id, {
      path: 'var/cache/app/miner',
      type: 'file',
      mode: 0o755,
      uid: 65532,
      gid: 65532,
      size: payload.length,
      mtime: 0,
      data: payload,
    });
    h.failing.add(digestB);
    await h.controller.rollout(
      'web',
      { revision: 'r2', digest: digestB },
      { template: template({ size: 2, strategy }) },
    );
    const watch = monitor();

    await watch.tick();

    const [incident] = incidents.list();
    assert.equal(incident?.instance, victim!.id);
    assert.match(
      incident?.summary ?? '',
      /\/var\/cache\/app\/miner \(executable in writable \/var\/cache\/app\)/,
    );
  });

  it('causes no incident when the same digest is rolled out with other knobs and another health check', async () => {
    const before = (await h.engine.list()).map((one) => one.id).sort();
    for (const id of before) h.engine.plantChange(id, { path: '/var/cache/app', kind: 'added' });
    const tuned = template(
      {
        size: 2,
        strategy: { ...strategy, maxSurge: 2 },
        resources: { memoryBytes: 512 << 20, cpus: 2, pids: 512 },
      },
      2,
      withCache,
    );
    const watch = monitor();

    await h.controller.rollout('web', { revision: 'r1', digest: digestA }, { template: tuned });
    await h.runUntil(() => h.statusIs('r1'), { watch: () => watch.tick() });
    await watch.tick();

    assert.deepEqual(incidents.list(), []);
    assert.deepEqual((await h.engine.list()).map((one) => one.id).sort(), before);
    assert.notEqual(
      runTemplateDigest(tuned.run),
      (await h.engine.list())[0]?.labels[instanceLabels.template],
    );
  });

  it('treats an instance labelled with a template its fleet never ran as untrusted', async () => {
    await h.engine.ensureImage({ imageRef: 'forged', digest: digestA });
    const forged = await h.engine.create({
      service: 'web',
      revision: 'r1',
      digest: digestA,
      imageRef: 'forged',
      templateDigest: `sha256:${'0'.repeat(64)}`,
      user: { uid: 65532, gid: 65532 },
      env: {},
      writable: ['/tmp', '/usr'],
      resources: { memoryBytes: 1 << 28, nanoCpus: 1e9, pids: 64 },
      stopGraceSeconds: 1,
    });
    const watch = monitor();

    await watch.tick();

    const [incident] = incidents.list();
    assert.equal(incident?.instance, forged.id);
    assert.equal(incident?.kind, 'untrusted');
    assert.match(incident?.summary ?? '', /never ran with/);
  });
});
