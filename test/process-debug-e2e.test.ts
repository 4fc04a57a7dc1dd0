/**
 * The process allowlist and break-glass debug sessions end to end on the real engine: `herd up`
 * builds the probe spec from a signed fixture repository whose image also holds a real shell and
 * `id` (the host's dash and coreutils' id with their libraries), starts its own podman and runs a
 * fleet of 2 behind a front door. Then, from outside, as an intruder or an operator would:
 * - ten seconds of instances running only their entrypoint raise no incident;
 * - a shell entered with `nsenter -t <pid> -a` is a `process` incident, with the process tree and
 *   its command line in the evidence only, and the instance is replaced;
 * - the host's `sleep` run in an instance's pid namespace (`nsenter -t <pid> -p`) is one too;
 * - `herd debug` with `id; exit` piped: a journal entry with the reason, a transcript with `id`'s
 *   output stored as a referrer and journaled, the instance destroyed, and no second incident for
 *   the session's own exec.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { transcriptArtifactType } from '../src/debug/transcript.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import { unwrap } from '../src/server/api-client.js';
import type { DriftEvidence } from '../src/watch/evidence.js';
import type { Incident } from '../src/watch/incident-store.js';
import type { FixtureFile, FixtureRepo } from './fixtures/apt-repo.js';
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
import { requireTool } from './support/podman.js';

const size = 2;
const service = 'probe';
const secret = 'hunter2-on-the-command-line';

/** The host's own programs, as a package: a real shell and `id` for the debug session and the intruder. */
async function debugToolsFiles(): Promise<FixtureFile[]> {
  const file = async (path: string, from: string, mode = 0o755): Promise<FixtureFile> => ({
    path,
    content: await readFile(await realpath(from)),
    mode,
  });
  const libs = '/lib/x86_64-linux-gnu';
  return [
    await file('usr/bin/dash', '/usr/bin/dash'),
    { path: 'usr/bin/sh', symlink: 'dash' },
    await file('usr/bin/id', '/usr/bin/id'),
    await file('usr/lib/x86_64-linux-gnu/libc.so.6', `${libs}/libc.so.6`, 0o644),
    await file('usr/lib/x86_64-linux-gnu/libselinux.so.1', `${libs}/libselinux.so.1`, 0o644),
    await file('usr/lib/x86_64-linux-gnu/libpcre2-8.so.0', `${libs}/libpcre2-8.so.0`, 0o644),
    await file('usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2'),
    { path: 'usr/lib64/ld-linux-x86-64.so.2', symlink: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
  ];
}

async function repository(): Promise<FixtureRepo> {
  requireTool('nsenter', 'util-linux');
  return probeRepo({ packages: [{ name: 'debug-tools', version: '1.0', files: await debugToolsFiles() }] });
}

describe('the process allowlist and herd debug on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let podman: Awaited<ReturnType<typeof podmanOf>>;
  const strays: ChildProcess[] = [];

  const running = () =>
    podman(['ps', '-q', '--no-trunc', '--filter', `label=dev.herd.service=${service}`])
      .trim()
      .split('\n')
      .filter(Boolean);
  const incidents = () => unwrap(localApi(home).incidents.$get({ query: {} }));
  const hostPidOf = (id: string) =>
    (JSON.parse(podman(['inspect', id])) as { State: { Pid: number } }[])[0]?.State.Pid ?? 0;
  const replaced = (victim: string) =>
    eventually('the replacement', 60_000, () => {
      const now = running();
      return !now.includes(victim) && now.length === size ? now : undefined;
    });
  /** The victim's process incident; on a timeout, the incidents seen and herd's last output. */
  const processIncident = async (victim: string) => {
    let seen: Incident[] = [];
    return eventually(
      'the process incident',
      15_000,
      async () => {
        seen = await incidents();
        return seen.find((one) => one.instance === victim && one.kind === 'process');
      },
      () =>
        `incidents ${JSON.stringify(seen.map((one) => [one.instance, one.kind]))}\n${up?.output().slice(-4000)}`,
    );
  };
  const evidenceOf = async (incident: Incident): Promise<DriftEvidence> => {
    const store = new LayoutStore(join(home, 'store'));
    const manifest = await store.getManifest(incident.evidenceDigest as Digest);
    return JSON.parse((await store.getBlob(manifest.layers[0]!.digest)).toString()) as DriftEvidence;
  };
  const journal = (action: string) => {
    const db = new Database(join(home, 'herd.db'), { readonly: true });
    try {
      return (
        db.prepare('SELECT * FROM journal WHERE action = ? ORDER BY id').all(action) as {
          actor: string;
          details: string;
        }[]
      ).map((row) => ({ actor: row.actor, details: JSON.parse(row.details) as Record<string, unknown> }));
    } finally {
      db.close();
    }
  };

  before(async () => {
    repo = await repository();
    home = await freshHome();
    const spec = probeSpecText(repo, {
      size,
      env: { GREETING: 'watched' },
      run: '\n  writable: [/tmp]',
    }).replace('packages: [probe-server]', 'packages: [probe-server, debug-tools]');
    up = startHerd(['up', await writeSpecDir({ 'herd.yaml': spec })], home);
    await up.waitFor(/front door {2}(http:\/\/\S+)\//, 180_000);
    podman = await podmanOf(home);
  });

  after(async () => {
    await stopHerd(up);
    // Their instances are gone with herd up's; whatever is left of them goes too.
    for (const stray of strays) {
      stray.stdin?.destroy();
      try {
        if (stray.pid) process.kill(-stray.pid, 'SIGKILL');
      } catch {
        // Already gone with its instance.
      }
    }
    await repo?.close();
  });

  it('raises no incident in ten seconds of instances running only their entrypoint', async () => {
    const before = running();

    await new Promise((resolve) => setTimeout(resolve, 10_000));

    assert.deepEqual(await incidents(), []);
    assert.deepEqual(running().sort(), before.sort(), 'no instance was replaced');
  });

  it('finds a shell entered with nsenter -a: a process incident, the command line in the evidence only, a replacement', async () => {
    const [victim] = running();
    const entered = Date.now();
    // The image's own shell, inside every namespace of the instance; it waits on its stdin.
    const shell = spawn(
      'nsenter',
      ['-t', String(hostPidOf(victim!)), '-a', '/usr/bin/sh', '-c', `read x # ${secret}`],
      {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    strays.push(shell);

    const incident = await processIncident(victim!);
    await replaced(victim!);

    console.log(`# process incident ${Date.parse(incident.detectedAt) - entered} ms after nsenter`);
    assert.match(
      incident.summary,
      /^process \/usr\/bin\/dash \(pid \d+, not the image's entrypoint or init\)/,
    );
    assert.equal(incident.quarantine, 'out-of-door');
    const evidence = await evidenceOf(incident);
    const tree = evidence.processes?.tree ?? [];
    assert.ok(
      tree.some((one) => one.pid === 1 && one.executable === '/run/podman-init'),
      JSON.stringify(tree),
    );
    assert.ok(tree.some((one) => one.executable === '/usr/bin/probe-server'));
    const found = tree.find((one) => one.executable === '/usr/bin/dash');
    assert.ok(found?.command.includes(secret), 'the command line is in the evidence');
    assert.match(found?.sha256 ?? '', /^[0-9a-f]{64}$/);
    const entry = journal('incident').find((one) => one.details.instance === victim);
    assert.equal(entry?.details.evidence, incident.evidenceDigest);
    assert.ok(!JSON.stringify(journal('incident')).includes(secret), 'never in the journal');
    assert.ok(!JSON.stringify(await incidents()).includes(secret), 'never in the incident');
  });

  it("finds the host's sleep run in an instance's pid namespace (nsenter -p) and replaces the instance", async () => {
    const [victim] = running();
    const sleepPath = await realpath('/usr/bin/sleep');
    const sleep = spawn('nsenter', ['-t', String(hostPidOf(victim!)), '-p', '--', sleepPath, '120'], {
      detached: true,
      stdio: 'ignore',
    });
    strays.push(sleep);

    const incident = await processIncident(victim!);
    await replaced(victim!);

    assert.match(incident.summary, /runs a file from outside the instance \(entered from the host\)/);
    const evidence = await evidenceOf(incident);
    const stray = evidence.processes?.tree.find((one) => one.executable === sleepPath);
    assert.equal(stray?.outside, true, JSON.stringify(evidence.processes?.tree));
    assert.match(stray?.user ?? '', /^(0|root)$/, 'nsenter ran it as root');
  });

  it('runs herd debug with id piped: the reason journaled, the output in a stored transcript, the instance destroyed, no second incident', async () => {
    const [victim] = running();
    const reason = 'INC-1: checking which user the service runs as';

    const debugged = await runHerdAsync(['debug', victim!.slice(0, 12), '--reason', reason, '--ttl', '2m'], {
      home,
      input: 'id\nexit\n',
    });

    assert.equal(debugged.status, 0, `${debugged.out}\n${debugged.err}`);
    assert.match(debugged.out, /uid=65532/);
    assert.match(
      debugged.err,
      /debug session [0-9a-f]{16} the program exited with 0; instance [0-9a-f]{12} destroyed; transcript sha256:/,
    );
    const [started] = journal('debug');
    assert.equal(started?.details.reason, reason);
    assert.equal(started?.details.instance, victim);
    assert.match(started?.actor ?? '', /^local:/);
    const [ended] = journal('debug-end');
    assert.equal(ended?.details.ended, 'exit');
    const store = new LayoutStore(join(home, 'store'));
    const transcript = ended?.details.transcript as Digest;
    const manifest = await store.getManifest(transcript);
    assert.equal(manifest.artifactType, transcriptArtifactType);
    const text = (await store.getBlob(manifest.layers[0]!.digest)).toString();
    assert.match(text, /"i","id\\n/);
    assert.match(text, /uid=65532/);
    assert.ok(!running().includes(victim!), 'the debugged instance is gone');
    await replaced(victim!);
    // The session's own exec, and its shell's processes, are not incidents of their own.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.deepEqual(
      (await incidents()).filter((one) => one.instance === victim),
      [],
    );
  });
});
