import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EngineError } from '../engines/index.js';
import { fleetHarness, template } from '../fleet/controller.test-support.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type TarEntry, writeTar } from '../oci/tar.js';
import { type Digest, type ImageManifest, MediaType } from '../oci/types.js';
import { type AlertBody, webhookOf } from './alert-webhook.js';
import { baselineOf, type FileManifestEntry } from './baseline.js';
import { type DriftEvidence, driftEvidenceArtifactType } from './evidence.js';
import { IncidentResponse } from './incident-response.js';
import { IncidentStore } from './incident-store.js';
import { IntegrityMonitor } from './integrity-monitor.js';
import { watchedTemplates } from './integrity-watch.js';
import type { TrustedBaseline } from './trusted-manifest.js';

const server = Buffer.from('the pristine server');
const evil = Buffer.from('\x7fELF pretend this is a miner');
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const imageFiles: TarEntry[] = [
  { path: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
  { path: 'usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
  {
    path: 'usr/bin/server',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: server.length,
    mtime: 0,
    data: server,
  },
  { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: 0 },
];
const manifest: FileManifestEntry[] = [
  { path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  {
    path: '/usr/bin/server',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: server.length,
    sha256: sha(server),
  },
  { path: '/tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0 },
];
const size = 2;
const silent = { info: () => {}, warn: () => {} };
const minerFile = {
  path: 'tmp/miner',
  type: 'file',
  mode: 0o755,
  uid: 65532,
  gid: 65532,
  size: evil.length,
  mtime: 0,
} as const;

describe('IntegrityMonitor on the memory engine', () => {
  let root: string;
  let h: ReturnType<typeof fleetHarness>;
  let store: LayoutStore;
  let journal: Journal;
  let incidents: IncidentStore;
  let digest: Digest;
  let trust: TrustedBaseline;
  /** herd's HERD_WATCH_WEBHOOK, for fleets whose spec names none. */
  let fallbackWebhook: string | undefined;

  function monitor() {
    const responder = new IncidentResponse({
      store,
      journal,
      incidents,
      fleets: h.controller,
      actor: 'test',
      now: () => h.clock.now(),
      webhookFor: webhookOf(h.controller, fallbackWebhook),
      log: silent,
    });
    return new IntegrityMonitor({
      engine: h.engine,
      baselineOf: async () => trust,
      templateOf: watchedTemplates(h.controller),
      responder,
      clock: h.clock,
      deepIntervalMs: 0,
    });
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-watch-'));
    store = new LayoutStore(root);
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
    digest = (await store.putJson(image, MediaType.imageManifest)).digest;
    h = fleetHarness();
    journal = new Journal(h.db, { clock: h.clock });
    incidents = new IncidentStore(h.db);
    trust = { kind: 'trusted', baseline: baselineOf(manifest), keyFingerprint: 'test' };
    fallbackWebhook = undefined;
    h.engine.setImageFiles(digest, imageFiles);
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
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds an executable dropped into /tmp, keeps the evidence, journals its digest and replaces the instance pristine-first', async () => {
    const [victim] = await h.engine.list();
    h.engine.plantFile(victim!.id, {
      path: 'tmp/miner',
      type: 'file',
      mode: 0o755,
      uid: 65532,
      gid: 65532,
      size: evil.length,
      mtime: 0,
      data: evil,
    });
    const watch = monitor();

    await watch.tick();
    const [incident] = incidents.list();
    const servingAtDetection = h.frontDoor.serving().map((one) => one.port);
    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id), {
      watch: () => watch.tick(),
    });
    await h.runUntil(() => h.statusIs('r1'), { watch: () => watch.tick() });

    assert.equal(incident?.kind, 'drift');
    assert.equal(incident?.instance, victim!.id);
    const referrers = await store.referrers(digest, { artifactType: driftEvidenceArtifactType });
    assert.deepEqual(
      referrers.map((one) => one.digest),
      [incident?.evidenceDigest],
    );
    const evidenceManifest = await store.getManifest(incident!.evidenceDigest as Digest);
    const evidence = JSON.parse(
      (await store.getBlob(evidenceManifest.layers[0]!.digest)).toString(),
    ) as DriftEvidence;
    assert.deepEqual(
      evidence.findings.map((one) => [one.path, one.reason, one.sha256, one.content]),
      [['/tmp/miner', 'executable in writable /tmp', sha(evil), evil.toString('base64')]],
    );
    const entry = journal.list().find((one) => one.action === 'drift');
    assert.equal(entry?.details.evidence, incident?.evidenceDigest);
    assert.equal(entry?.id, incident?.journalId);
    assert.equal(h.engine.peakRunning, size + 1, 'a pristine instance started before the drifted one went');
    assert.equal(incident?.quarantine, 'out-of-door');
    assert.ok(!servingAtDetection.includes(victim!.address!.port), 'out of the front door at detection');
    assert.equal(servingAtDetection.length, size - 1);
    assert.ok(h.frontDoor.minServing >= size - 1, `serving dropped to ${h.frontDoor.minServing}`);
    assert.ok(incidents.list()[0]?.replacedAt, 'the incident has its replacement time');
    assert.ok(
      h.events.some(
        (event) =>
          event.kind === 'instance-removed' && event.id === victim!.id && event.reason === 'condemned',
      ),
    );
  });

  it('takes a first look at a 50 MB data file in /tmp and never reads it again, and still finds an executable dropped beside it at the next tick', async () => {
    const [victim] = await h.engine.list();
    const big = Buffer.alloc(50 * 1024 * 1024, 0x61);
    h.engine.plantFile(victim!.id, {
      ...minerFile,
      path: 'tmp/data.bin',
      mode: 0o644,
      size: big.length,
      data: big,
    });
    const reads: string[] = [];
    const readPath = h.engine.readPath.bind(h.engine);
    h.engine.readPath = (id, path, options) => {
      reads.push(path);
      return readPath(id, path, options);
    };
    const watch = monitor();

    for (let tick = 0; tick < 5; tick++) await watch.tick();
    const quiet = incidents.list().length;
    h.engine.plantFile(victim!.id, { ...minerFile, data: evil });
    await watch.tick();

    assert.equal(quiet, 0, 'data in a writable path is no drift');
    assert.deepEqual(
      reads.filter((path) => path === '/tmp/data.bin'),
      ['/tmp/data.bin'],
      'one look in five ticks',
    );
    assert.ok(!reads.includes('/tmp'), 'the memory engine lists /tmp without the archive');
    assert.equal(incidents.list()[0]?.instance, victim!.id);
    assert.match(incidents.list()[0]?.summary ?? '', /\/tmp\/miner \(executable in writable \/tmp\)/);
  });

  it('acts on the diff of an engine that reads no path (Kubernetes): its writable paths unwatched, its changes still an incident', async () => {
    const [victim] = await h.engine.list();
    const unsupported = async (): Promise<never> => {
      throw new EngineError('UNSUPPORTED', 'the kubernetes engine cannot read a path');
    };
    h.engine.readPath = unsupported;
    h.engine.listPath = unsupported;
    h.engine.exportFilesystem = unsupported;
    h.engine.changes = async (id) =>
      id === victim!.id ? [{ path: '/usr/bin/server', kind: 'modified' }] : [];
    const watch = monitor();

    await watch.tick();

    const [incident] = incidents.list();
    assert.equal(incident?.kind, 'drift');
    assert.equal(incident?.instance, victim!.id);
    assert.match(incident?.summary ?? '', /\/usr\/bin\/server/);
  });

  it('replaces an instance whose drift probe fails again and again (an intruder killing it) as blinded, journaled with the reason; an engine that does not answer replaces nothing', async () => {
    const [victim, other] = await h.engine.list();
    let unreachable = false;
    // As the KubernetesEngine answers: a probe now and then, its failure given again in between.
    let probe = new EngineError('OTHER', 'the drift probe herd-drift-1 exited with code 137');
    h.engine.changes = async (id) => {
      if (unreachable) throw new EngineError('UNREACHABLE', 'the API server did not answer');
      if (id === victim!.id) throw probe;
      return [];
    };
    const watch = monitor();

    // Three probes killed by minute 6, asked every minute: not yet 10 minutes without a success.
    for (let minute = 0; minute < 10; minute += 1) {
      if (minute === 3 || minute === 6)
        probe = new EngineError('OTHER', `the drift probe herd-drift-${minute / 3 + 1} exited with code 137`);
      await watch.tick();
      h.clock.advance(60_000);
    }
    assert.deepEqual(incidents.list(), [], 'nine minutes of failures are not yet blindness');
    await watch.tick();

    const [incident] = incidents.list();
    assert.equal(incident?.kind, 'drift');
    assert.equal(incident?.instance, victim!.id);
    assert.match(
      incident?.summary ?? '',
      /drift watch blinded: the engine's diff failed 3 times over 600 s.*herd-drift-3 exited with code 137/,
    );
    assert.equal(incident?.quarantine, 'out-of-door');
    const entry = journal.list().find((one) => one.action === 'drift');
    assert.equal(entry?.details.instance, victim!.id);
    assert.ok(!incidents.list().some((one) => one.instance === other!.id));

    unreachable = true;
    for (let minute = 0; minute < 12; minute += 1) {
      await watch.tick();
      h.clock.advance(60_000);
    }
    assert.equal(incidents.list().length, 1, 'an engine that does not answer blinds no instance of its own');
  });

  it('keeps the drifted instance of a fleet of one serving until its replacement is ready, and the incident says so', async () => {
    await h.controller.scale('web', 1);
    await h.runUntil(async () => (await h.engine.list()).length === 1);
    const [victim] = await h.engine.list();
    const port = victim!.address!.port;
    h.engine.plantFile(victim!.id, { ...minerFile, data: evil });
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
    const watch = monitor();
    const serving: number[][] = [];

    await watch.tick();
    const [incident] = incidents.list();
    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id), {
      maxSeconds: 10,
      watch: async () => {
        serving.push(h.frontDoor.serving().map((one) => one.port));
      },
    });

    assert.equal(incident?.quarantine, 'kept-serving');
    assert.match(
      incident?.summary ?? '',
      /; kept serving until its replacement is ready: no other instance of the fleet is ready$/,
    );
    const entry = journal.list().find((one) => one.id === incident?.journalId);
    assert.equal(entry?.details.quarantine, 'kept-serving');
    assert.ok(h.frontDoor.minServing >= 1, 'never without an instance to serve');
    assert.deepEqual(serving[0], [port], 'the drifted instance served while its replacement started');
    const last = serving.at(-1) ?? [];
    assert.equal(last.length, 1);
    assert.notEqual(last[0], port);
  });

  it('opens one incident for an exec session, however many exec events the engine sends, and replaces the instance', async () => {
    const [victim] = await h.engine.list();
    const watch = monitor();
    watch.start();

    h.engine.simulateExec(victim!.id, 'sh -c id');
    h.engine.simulateExec(victim!.id);
    await eventually(() => incidents.list().length > 0);
    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id));
    await watch.stop();

    const all = incidents.list();
    assert.equal(all.length, 1);
    assert.equal(all[0]?.kind, 'exec');
    // The command line may hold a secret: it is kept in the evidence, never in the incident or journal.
    assert.equal(all[0]?.summary, 'exec session opened');
    assert.equal(journal.list().find((one) => one.action === 'incident')?.details.command, undefined);
    const evidenceManifest = await store.getManifest(all[0]!.evidenceDigest as Digest);
    const evidence = JSON.parse(
      (await store.getBlob(evidenceManifest.layers[0]!.digest)).toString(),
    ) as DriftEvidence;
    assert.equal(evidence.exec?.command, 'sh -c id');
    assert.equal(h.engine.peakRunning, size + 1);
  });

  it('finds with the deep path a changed image file that the engine diff does not show', async () => {
    const [victim] = await h.engine.list();
    const forged = Buffer.from('the forged server!!');
    h.engine.plantFile(victim!.id, { ...imageFiles[2]!, data: forged });
    const watch = monitor();

    await watch.tick();
    const before = incidents.list().length;
    const report = await watch.verifyInstance(victim!.id);

    assert.equal(before, 0, 'the fast path cannot see it');
    assert.deepEqual(
      report.findings.map((one) => [one.path, one.reason]),
      [['/usr/bin/server', 'sha256 differs from the manifest']],
    );
    assert.equal(report.entries, imageFiles.length);
    assert.equal(
      incidents.list()[0]?.summary,
      'deep path: /usr/bin/server (sha256 differs from the manifest)',
    );
  });

  it('fails the deep path on a truncated export instead of passing it, and opens no incident', async () => {
    const [victim] = await h.engine.list();
    h.engine.exportOverride = () => writeTar(imageFiles).subarray(0, 512 * 3);
    const watch = monitor();

    await assert.rejects(watch.verifyInstance(victim!.id), { code: 'EXPORT_TRUNCATED' });
    assert.deepEqual(incidents.list(), []);
  });

  it('treats instances of an image whose manifest does not verify as untrusted: never ready, not replaced in a loop', async () => {
    trust = { kind: 'untrusted', code: 'SIGNATURE_INVALID', reason: 'no signature by a trusted key' };
    const ids = (await h.engine.list()).map((one) => one.id).sort();
    const watch = monitor();

    await watch.tick();
    await h.runUntil(async () => false, { maxSeconds: 10, watch: () => watch.tick() }).catch(() => undefined);
    const status = await h.controller.status('web');

    assert.deepEqual(
      incidents.list().map((one) => one.kind),
      ['untrusted', 'untrusted'],
    );
    assert.equal(status.ready, 0);
    assert.ok(status.instances.every((one) => one.untrusted && !one.ready));
    assert.deepEqual((await h.engine.list()).map((one) => one.id).sort(), ids);
    assert.deepEqual(h.frontDoor.backends, []);
  });

  it("posts each incident once to the webhook the fleet's spec names, else to herd's fallback, without file contents or env values", async () => {
    const received: { path: string; text: string }[] = [];
    const receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => {
        text += chunk;
      });
      request.on('end', () => {
        received.push({ path: request.url ?? '', text });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    fallbackWebhook = `${base}/fallback`;
    const envValue = 'env-value-that-must-stay-home';
    await h.controller.rollout(
      'api',
      { revision: 'r1', digest },
      {
        template: {
          ...template({ size: 1 }),
          env: { GREETING: envValue },
          watch: { webhook: `${base}/api-alerts` },
        },
      },
    );
    await h.runUntil(async () => (await h.controller.status('api')).status === 'complete');
    const web = (await h.engine.list({ service: 'web' }))[0]!;
    const api = (await h.engine.list({ service: 'api' }))[0]!;
    h.engine.plantChange(web.id, { path: '/usr/bin/backdoor', kind: 'added' });
    const miner = { type: 'file', mode: 0o755, uid: 65532, gid: 65532, size: evil.length, mtime: 0 } as const;
    h.engine.plantFile(api.id, { ...miner, path: 'tmp/miner', data: evil });
    const watch = monitor();

    try {
      await watch.tick();
      await watch.tick();
      await eventually(() => received.length >= 2);
    } finally {
      receiver.close();
    }

    assert.deepEqual(received.map((one) => one.path).sort(), ['/api-alerts', '/fallback']);
    const bodyAt = (path: string) =>
      JSON.parse(received.find((one) => one.path === path)?.text ?? '{}') as AlertBody;
    assert.equal(bodyAt('/fallback').incident.instance, web.id);
    const alert = bodyAt('/api-alerts');
    const [incident] = incidents.list().filter((one) => one.instance === api.id);
    assert.equal(alert.kind, 'herd.incident');
    assert.deepEqual(alert.incident, {
      id: incident?.id,
      service: 'api',
      instance: api.id,
      digest,
      kind: 'drift',
      detectedAt: incident?.detectedAt,
      evidenceDigest: incident?.evidenceDigest,
      journalId: incident?.journalId,
      // A fleet of one: no other instance was ready, so it served until its replacement was.
      summary:
        'fast path: /tmp/miner (executable in writable /tmp); kept serving until its replacement is ready: no other instance of the fleet is ready',
    });
    assert.equal(incident?.quarantine, 'kept-serving');
    const evidenceManifest = await store.getManifest(incident!.evidenceDigest as Digest);
    const evidence = (await store.getBlob(evidenceManifest.layers[0]!.digest)).toString();
    assert.ok(evidence.includes(evil.toString('base64')), 'the evidence in the store keeps the content');
    for (const text of received.map((one) => one.text)) {
      assert.ok(!text.includes(evil.toString('base64')), 'no file contents');
      assert.ok(!text.includes('pretend this is a miner'), 'no file contents');
      assert.ok(!text.includes(envValue), 'no environment values');
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
