/**
 * The integrity monitor end to end on the real engine: `herd up` builds the probe spec from a
 * signed fixture repository (as test/fleet-e2e.test.ts does), starts its own podman service and
 * rolls out a fleet of 2 behind a front door; a load loop hits the front door throughout. Then,
 * from outside, through the podman CLI on herd's own storage:
 * - a clean instance passes `herd verify-instance` (the deep path finds no false drift);
 * - `podman cp` of an executable into /tmp (a writable tmpfs): the fast path detects it within
 *   2 s, the evidence is a referrer of the image in the store and the journal names its digest,
 *   the instance is replaced, pristine first;
 * - `podman exec` on an instance: an exec incident and a replacement;
 * - the front door answered every request.
 * Then a second `herd up`, of a fleet whose spec says `run.writableRoot: true`: the root really is
 * writable and nothing else is loosened; a file in /usr changed with `podman cp` is detected within
 * 2 s, kept as evidence, journaled and replaced pristine-first while the front door answers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { latestVerdict } from '../src/gate/stored-verdict.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import { unwrap } from '../src/server/api-client.js';
import { driftEvidenceArtifactType } from '../src/watch/evidence.js';
import type { Incident } from '../src/watch/incident-store.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerdAsync } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import {
  eventually,
  podmanOf,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerd,
} from './support/herd-process.js';

const size = 2;

function specText(repo: FixtureRepo, options: { service?: string; run?: string } = {}): string {
  return probeSpecText(repo, {
    ...(options.service ? { service: options.service } : {}),
    size,
    env: { GREETING: 'watched' },
    run: `\n  writable: [/tmp]${options.run ?? ''}`,
  });
}

interface LoadLoop {
  /** Ends the loop; what it saw, however often it is called. */
  stop(): Promise<{ requests: number; failures: string[] }>;
}

/** GET / on the front door every 20 ms until stopped, noting every request that did not get a 200. */
function startLoad(frontDoor: string): LoadLoop {
  let loading = true;
  let requests = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (loading) {
      requests++;
      const response = await fetch(`${frontDoor}/`).catch((error: Error) => error);
      if (response instanceof Error) failures.push(response.message);
      else {
        if (response.status !== 200) failures.push(`status ${response.status}`);
        await response.text();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      loading = false;
      await loop;
      return { requests, failures };
    },
  };
}

/**
 * After a change was planted in `victim` (just now): waits for its drift incident, then for the
 * fleet to be back at `size` without it, noting the most instances seen on the way.
 */
async function driftAndReplacement(
  victim: string,
  fleet: { running: () => string[]; incidents: () => Promise<Incident[]> },
): Promise<{ incident: Incident; latency: number; peak: number }> {
  const planted = Date.now();
  const incident = await eventually('the drift incident', 10_000, async () =>
    (await fleet.incidents()).find((one) => one.instance === victim && one.kind === 'drift'),
  );
  let peak = 0;
  await eventually(
    'the replacement',
    30_000,
    () => {
      const now = fleet.running();
      peak = Math.max(peak, now.length);
      return !now.includes(victim) && now.length === size ? now : undefined;
    },
    undefined,
    50,
  );
  return { incident, latency: Date.parse(incident.detectedAt) - planted, peak };
}

/**
 * Surge-first, read from the journal rather than sampled with `podman ps` (which, on a loaded
 * machine, can miss a window of well under a second): a replacement was created after the
 * detection and before the drifted instance was removed.
 */
function createdBeforeRemoval(home: string, victim: string, detectedAt: string): boolean {
  const db = new Database(join(home, 'herd.db'), { readonly: true });
  try {
    const rows = db
      .prepare("SELECT id, at, details FROM journal WHERE action = 'replace' ORDER BY id")
      .all() as { id: number; at: string; details: string }[];
    const events = rows.map((row) => ({
      ...row,
      details: JSON.parse(row.details) as { event: string; id?: string },
    }));
    const removal = events.find(
      (one) => one.details.event === 'instance-removed' && one.details.id === victim,
    );
    return events.some(
      (one) =>
        one.details.event === 'instance-created' &&
        // The removal may not be journaled yet when podman no longer lists the instance.
        one.id < (removal?.id ?? Number.POSITIVE_INFINITY) &&
        Date.parse(one.at) >= Date.parse(detectedAt) - 1000,
    );
  } finally {
    db.close();
  }
}

describe('the integrity monitor on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let podman: Awaited<ReturnType<typeof podmanOf>>;
  let load: LoadLoop | undefined;

  const running = () =>
    podman(['ps', '-q', '--no-trunc', '--filter', 'label=dev.herd.service=probe'])
      .trim()
      .split('\n')
      .filter(Boolean);
  const incidents = () => unwrap(localApi(home).incidents.$get({ query: {} }));

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo) });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
    podman = await podmanOf(home);
    load = startLoad(frontDoor);
  });

  after(async () => {
    await load?.stop();
    await stopHerd(up);
    await repo?.close();
  });

  it('passes a clean instance with verify-instance: the deep path finds nothing on an untouched instance', async () => {
    const [instance] = running();

    const verified = await runHerdAsync(['verify-instance', instance!, '--json'], { home });

    assert.equal(verified.status, 0, `${verified.out}\n${verified.err}`);
    const report = JSON.parse(verified.out) as { trusted: boolean; findings: unknown[]; entries: number };
    assert.equal(report.trusted, true);
    assert.deepEqual(report.findings, []);
    assert.ok(report.entries > 10);
    assert.deepEqual(
      await incidents(),
      [],
      'a fresh fleet has no incidents: no false drift on the fast path either',
    );
  });

  it('detects an executable copied into /tmp within 2 s, keeps the evidence, and replaces the instance pristine-first', async () => {
    const [victim] = running();
    const dropped = join(home, 'miner');
    await writeFile(dropped, '#!/bin/sh\necho mining\n');
    await chmod(dropped, 0o755);

    podman(['cp', dropped, `${victim}:/tmp/miner`]);
    const { incident, latency, peak } = await driftAndReplacement(victim!, { running, incidents });

    console.log(`# drift detection latency: ${latency} ms after podman cp returned`);
    assert.ok(latency < 2000, `detected ${latency} ms after the copy`);
    assert.match(incident.summary, /\/tmp\/miner \(executable in writable \/tmp\)/);
    const store = new LayoutStore(join(home, 'store'));
    const referrers = await store.referrers(incident.digest as Digest, {
      artifactType: driftEvidenceArtifactType,
    });
    assert.ok(referrers.some((one) => one.digest === incident.evidenceDigest));
    const evidence = await store.getManifest(incident.evidenceDigest as Digest);
    const document = JSON.parse((await store.getBlob(evidence.layers[0]!.digest)).toString()) as {
      findings: { path: string; content?: string; sha256?: string }[];
    };
    assert.equal(
      Buffer.from(document.findings[0]?.content ?? '', 'base64').toString(),
      '#!/bin/sh\necho mining\n',
    );
    const db = new Database(join(home, 'herd.db'), { readonly: true });
    try {
      const entry = db
        .prepare('SELECT action, details FROM journal WHERE id = ?')
        .get(incident.journalId) as {
        action: string;
        details: string;
      };
      assert.equal(entry.action, 'drift');
      assert.equal(JSON.parse(entry.details).evidence, incident.evidenceDigest);
    } finally {
      db.close();
    }
    assert.ok(peak <= size + 1, `at most size + maxSurge instances, saw ${peak}`);
    assert.ok(
      createdBeforeRemoval(home, victim!, incident.detectedAt),
      'a pristine instance started before the drifted one was removed',
    );
    const replaced = await eventually('the replacement time', 5_000, async () =>
      (await incidents()).find((one) => one.id === incident.id && one.replacedAt),
    );
    console.log(
      `# replaced ${Date.parse(replaced.replacedAt!) - Date.parse(replaced.detectedAt)} ms after detection`,
    );
  });

  it('opens an incident for podman exec and replaces the instance', async () => {
    const [victim] = running();

    // The probe image holds only probe-server; a second one fails at once (port taken), which is enough.
    podman(['exec', victim!, '/usr/bin/probe-server'], { allowFailure: true });
    const incident = await eventually('the exec incident', 10_000, async () =>
      (await incidents()).find((one) => one.instance === victim && one.kind === 'exec'),
    );
    await eventually('the replacement', 30_000, () => {
      const now = running();
      return !now.includes(victim!) && now.length === size ? now : undefined;
    });

    assert.ok(incident.evidenceDigest);
    assert.match(incident.summary, /exec session opened/);
  });

  it('kept the front door answering throughout', async () => {
    const { requests, failures } = await load!.stop();

    assert.ok(requests > 50, `only ${requests} requests were made`);
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
  });
});

describe('a writable-root fleet on podman through herd up', () => {
  const service = 'probe-rw';
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let podman: Awaited<ReturnType<typeof podmanOf>>;
  let load: LoadLoop | undefined;

  const running = () =>
    podman(['ps', '-q', '--no-trunc', '--filter', `label=dev.herd.service=${service}`])
      .trim()
      .split('\n')
      .filter(Boolean);
  const incidents = () => unwrap(localApi(home).incidents.$get({ query: {} }));

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const dir = await writeSpecDir({
      'herd.yaml': specText(repo, { service, run: '\n  writableRoot: true' }),
    });
    up = startHerd(['up', dir], home);
    const frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
    podman = await podmanOf(home);
    load = startLoad(frontDoor);
  });

  after(async () => {
    await load?.stop();
    await stopHerd(up);
    await repo?.close();
  });

  it('gates the image with a writable-root warning that does not fail it, and runs the instances with a writable root and every other part of the hardening in place', async () => {
    const ids = running();
    const inspected = JSON.parse(podman(['inspect', ...ids])) as {
      Config: { User: string; Labels: Record<string, string> };
      HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[]; Init: boolean };
      EffectiveCaps: string[] | null;
    }[];
    const image = inspected[0]?.Config.Labels['dev.herd.digest'] as Digest;
    const verdict = await latestVerdict(new LayoutStore(join(home, 'store')), image);
    // Two fast passes over the clean fleet: a writable root alone is no drift.
    await new Promise((resolve) => setTimeout(resolve, 2_500));

    assert.equal(inspected.length, size);
    for (const container of inspected) {
      assert.equal(container.HostConfig.ReadonlyRootfs, false);
      assert.equal(container.Config.User, '65532:65532');
      assert.ok(container.HostConfig.SecurityOpt.includes('no-new-privileges'));
      assert.deepEqual(container.EffectiveCaps ?? [], []);
      assert.equal(container.HostConfig.Init, true);
    }
    assert.equal(verdict?.passed, true);
    assert.deepEqual(
      verdict?.findings
        .filter((one) => one.rule === 'HERD-H014')
        .map((one) => [one.level, one.fails, one.kind === 'hardening' ? one.location?.setting : undefined]),
      [['warning', false, 'spec.run.writableRoot']],
    );
    assert.deepEqual(await incidents(), [], 'a fresh writable-root fleet has no incidents');
  });

  it('detects a file in /usr changed with podman cp within 2 s, keeps the evidence, and replaces the instance pristine-first', async () => {
    const [victim] = running();
    const forged = join(home, 'os-release');
    const content = 'ID=debian\nVERSION=tampered\n';
    await writeFile(forged, content);

    podman(['cp', forged, `${victim}:/usr/lib/os-release`]);
    const { incident, latency, peak } = await driftAndReplacement(victim!, { running, incidents });
    const { requests, failures } = await load!.stop();

    console.log(`# writable root: drift detection latency ${latency} ms after podman cp returned`);
    assert.ok(latency < 2000, `detected ${latency} ms after the copy`);
    assert.match(incident.summary, /^fast path: \/usr\/lib\/os-release \(/);
    const store = new LayoutStore(join(home, 'store'));
    const referrers = await store.referrers(incident.digest as Digest, {
      artifactType: driftEvidenceArtifactType,
    });
    assert.ok(referrers.some((one) => one.digest === incident.evidenceDigest));
    const evidence = await store.getManifest(incident.evidenceDigest as Digest);
    const document = JSON.parse((await store.getBlob(evidence.layers[0]!.digest)).toString()) as {
      findings: { path: string; change: string; content?: string; sha256?: string }[];
    };
    const finding = document.findings.find((one) => one.path === '/usr/lib/os-release');
    assert.equal(finding?.change, 'modified');
    assert.equal(finding?.sha256, createHash('sha256').update(content).digest('hex'));
    assert.equal(Buffer.from(finding?.content ?? '', 'base64').toString(), content);
    const db = new Database(join(home, 'herd.db'), { readonly: true });
    try {
      const entry = db
        .prepare('SELECT action, details FROM journal WHERE id = ?')
        .get(incident.journalId) as {
        action: string;
        details: string;
      };
      assert.equal(entry.action, 'drift');
      assert.equal(JSON.parse(entry.details).evidence, incident.evidenceDigest);
    } finally {
      db.close();
    }
    assert.ok(peak <= size + 1, `at most size + maxSurge instances, saw ${peak}`);
    assert.ok(
      createdBeforeRemoval(home, victim!, incident.detectedAt),
      'a pristine instance started before the drifted one was removed',
    );
    assert.ok(requests > 50, `only ${requests} requests were made`);
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
  });
});
