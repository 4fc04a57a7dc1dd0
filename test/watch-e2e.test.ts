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
 * Not covered: a writable-root fleet (the spec has no option for a writable root).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import { driftEvidenceArtifactType } from '../src/watch/evidence.js';
import type { Incident } from '../src/watch/incident-store.js';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { projectRoot, runHerdAsync } from './support/cli.js';
import { requireTool } from './support/podman.js';
import { compileProbeServer } from './support/probe-image.js';

const size = 2;

function specText(repo: FixtureRepo): string {
  return `apiVersion: herd/v1
service: probe
image:
  release: bookworm
  packages: [probe-server]
  repositories:
    - uri: file://${repo.dir}/
      suites: [test]
      keyring: ${repo.keyringPath}
run:
  entrypoint: [/usr/bin/probe-server]
  writable: [/tmp]
env:
  GREETING: "watched"
ports: [8080]
health:
  http: { path: /healthz, port: 8080 }
  interval: 500ms
  timeout: 1s
  retries: 2
fleet:
  size: ${size}
  strategy: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 1, progressDeadlineSeconds: 30 }
  health: { failureThreshold: 2 }
  stopGraceSeconds: 2
  drainSeconds: 1
`;
}

interface RunningHerd {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

function startHerd(args: string[], home: string): RunningHerd {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, HERD_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    child,
    output: () => text,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = setInterval(() => {
          const match = text.match(pattern);
          if (match) {
            clearInterval(poll);
            resolve(match);
          } else if (child.exitCode !== null || Date.now() > deadline) {
            clearInterval(poll);
            reject(new Error(`herd ${args.join(' ')}: no ${pattern} (exit ${child.exitCode}):\n${text}`));
          }
        }, 100);
      }),
  };
}

/** The podman CLI over herd's own podman storage, for acting from outside as an intruder would. */
async function podmanOf(home: string) {
  const engine = join(home, 'engine');
  const driver = (await readFile(join(engine, 'storage-driver'), 'utf8')).trim();
  const base = ['--root', join(engine, 'storage'), '--runroot', join(engine, 'run')];
  const args = [...base, '--tmpdir', join(engine, 'tmp'), '--storage-driver', driver];
  return (command: string[], options: { allowFailure?: boolean } = {}) => {
    const result = spawnSync('podman', [...args, ...command], {
      encoding: 'utf8',
      env: { ...process.env, CONTAINERS_CONF: join(engine, 'containers.conf') },
      timeout: 30_000,
    });
    if (!options.allowFailure)
      assert.equal(result.status, 0, `podman ${command.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
}

async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  lastSeen?: () => string,
  everyMs = 100,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const seen = lastSeen ? `; last seen: ${lastSeen()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

describe('the integrity monitor on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let api: string;
  let podman: Awaited<ReturnType<typeof podmanOf>>;
  let loading = true;
  let requests = 0;
  const failures: string[] = [];
  let load: Promise<void> | undefined;

  const running = () =>
    podman(['ps', '-q', '--no-trunc', '--filter', 'label=dev.herd.service=probe'])
      .trim()
      .split('\n')
      .filter(Boolean);
  const incidents = async () => (await (await fetch(`${api}/api/v1/incidents`)).json()) as Incident[];

  before(async () => {
    requireTool('podman', 'podman');
    requireTool('runc', 'runc');
    repo = await createAptRepo({
      dir: await freshHome('herd-repo-'),
      suites: [{ name: 'test' }],
      packages: [
        {
          name: 'base-files',
          version: '12.4',
          files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
        },
        {
          name: 'probe-server',
          version: '1.0',
          files: [{ path: 'usr/bin/probe-server', content: await compileProbeServer(), mode: 0o755 }],
        },
      ],
    });
    home = await freshHome();
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo) });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
    api = (JSON.parse(await readFile(join(home, 'control-plane.json'), 'utf8')) as { url: string }).url;
    podman = await podmanOf(home);
    load = (async () => {
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
  });

  after(async () => {
    loading = false;
    await load;
    const child = up?.child;
    // herd up started its own podman service: Ctrl-C removes the instances and stops it.
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
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
    const copied = Date.now();
    const incident = await eventually('the drift incident', 10_000, async () =>
      (await incidents()).find((one) => one.instance === victim && one.kind === 'drift'),
    );
    const latency = Date.parse(incident.detectedAt) - copied;
    let peak = 0;
    await eventually(
      'the replacement',
      30_000,
      () => {
        const now = running();
        peak = Math.max(peak, now.length);
        return !now.includes(victim!) && now.length === size ? now : undefined;
      },
      undefined,
      50,
    );

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
    assert.equal(peak, size + 1, 'a pristine instance started before the drifted one was removed');
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
    loading = false;
    await load;

    assert.ok(requests > 50, `only ${requests} requests were made`);
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
  });
});
