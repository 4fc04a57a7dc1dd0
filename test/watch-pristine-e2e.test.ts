/**
 * The watch's blind spots, closed, on the real engine: `herd up` builds the probe spec from a signed
 * fixture repository and runs a fleet of 2 on its own podman; then, from outside, as an intruder
 * with the host would:
 * - a second fleet whose spec declares /run writable (where podman mounts its init) stays as it is
 *   for 10 s, with no incident;
 * - the workload's user writes an executable script to /dev/shm (through /proc/<pid>/root, as the
 *   workload itself would): a drift incident;
 * - a file of the image's layer is changed in podman's storage on the host, and a deep check
 *   (`herd verify-instance`) finds it: every instance of the image is judged and removed, the image
 *   is fetched anew from herd's store, the replacements verify clean, and the changed bytes are
 *   gone from the layer;
 * - the control plane is killed (kill -9), an instance gets a `podman exec`, and a new `herd serve`
 *   replays the engine's events from the last one handled: an exec incident.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { unwrap } from '../src/server/api-client.js';
import type { Incident } from '../src/watch/incident-store.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd, runHerdAsync } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import {
  eventually,
  type Podman,
  podmanOf,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerdPodman,
} from './support/herd-process.js';

const size = 2;
const pristineOsRelease = 'ID=debian\n';

interface Status {
  ready: number;
  instances: { id: string; ready: boolean; unverified?: boolean }[];
}

describe('no blind spots and a pristine replacement, on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let podman: Podman;
  let keyPassword = '';
  const herd = (args: string[]) => runHerd(args, { home, env: { HERD_KEY_PASSWORD: keyPassword } });
  const status = async (service: string) =>
    JSON.parse((await runHerdAsync(['status', service, '--json'], { home })).out) as Status;
  const incidents = () => unwrap(localApi(home).incidents.$get({ query: {} })) as Promise<Incident[]>;
  const running = (service: string) =>
    podman(['ps', '-q', '--no-trunc', '--filter', `label=dev.herd.service=${service}`])
      .trim()
      .split('\n')
      .filter(Boolean)
      .sort();
  const pidOf = (id: string) => Number(podman(['inspect', '--format', '{{.State.Pid}}', id]).trim());
  const ready = (service: string) =>
    eventually(`${service} to have ${size} ready instances`, 120_000, async () => {
      const now = await status(service);
      return now.ready === size && now.instances.length === size ? now : undefined;
    });

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const dir = await writeSpecDir({
      'herd.yaml': probeSpecText(repo, { size, env: { GREETING: 'pristine' }, run: '\n  writable: [/tmp]' }),
    });
    up = startHerd(['up', dir], home);
    await up.waitFor(/front door {2}(http:\/\/\S+)\//, 300_000);
    podman = await podmanOf(home);
    keyPassword = (await readFile(join(home, 'keys', 'cosign.password'), 'utf8')).trim();
    await ready('probe');
  });

  after(async () => {
    const child = up?.child;
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // After the kill -9, `herd serve` adopted podman: not its own to stop, so the test cleans up.
    if (home) await stopHerdPodman(home);
    await repo?.close();
  });

  it('keeps a fleet whose spec declares /run writable as it is for 10 s: podman-init there is the engine own', async () => {
    const dir = await writeSpecDir({
      'herd.yaml': probeSpecText(repo, {
        service: 'probe-run',
        size,
        env: { GREETING: 'run' },
        run: '\n  writable: [/run, /tmp]',
      }),
    });
    const build = herd(['build', dir, '--json']);
    assert.equal(build.status, 0, build.err);
    const digest = JSON.parse(build.out).digest as string;
    for (const args of [
      ['sign', digest],
      ['release', 'probe-run', digest, '--stage', 'candidate'],
      ['rollout', 'probe-run', digest, '--spec', dir],
    ]) {
      const step = herd(args);
      assert.equal(step.status, 0, `${args.join(' ')}: ${step.err}`);
    }
    await ready('probe-run');
    const instances = running('probe-run');
    const podmanInit = await stat(`/proc/${pidOf(instances[0]!)}/root/run/podman-init`);

    await new Promise((resolve) => setTimeout(resolve, 10_000));

    assert.ok(podmanInit.mode & 0o111, 'podman mounts its executable init under the writable /run');
    assert.deepEqual(
      (await incidents()).filter((one) => one.service === 'probe-run'),
      [],
      'no incident for the engine own files',
    );
    assert.deepEqual(running('probe-run'), instances, 'the same instances, none replaced');
  });

  it("finds an executable script the workload's user wrote to /dev/shm", async () => {
    const [victim] = running('probe');
    const script = `/proc/${pidOf(victim!)}/root/dev/shm/x`;

    // As the workload's own user, from its side of the mount: what a compromised app could do.
    const write = spawnSync(
      'setpriv',
      [
        '--reuid=65532',
        '--regid=65532',
        '--clear-groups',
        'sh',
        '-c',
        `printf '#!/bin/sh\\necho owned\\n' > ${script} && chmod 755 ${script}`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(write.status, 0, write.stderr);
    const incident = await eventually('the /dev/shm incident', 15_000, async () =>
      (await incidents()).find((one) => one.instance === victim && one.kind === 'drift'),
    );

    assert.match(incident.summary, /^fast path: \/dev\/shm\/x \(executable in writable \/dev\/shm\)/);
    await eventually('the replacement', 60_000, () =>
      running('probe').length === size && !running('probe').includes(victim!) ? true : undefined,
    );
  });

  it('fetches an image whose layer was changed on the host anew: the replacements verify clean and the change is gone', async () => {
    await ready('probe');
    const before = running('probe');
    const layer = layerHolding(podman, before[0]!, 'usr/lib/os-release');
    const file = join(layer, 'usr/lib/os-release');
    assert.equal(await readFile(file, 'utf8'), pristineOsRelease);

    // The same size, so only the hash can tell.
    spawnSync('sh', ['-c', `printf 'ID=hacked\\n' > ${file}`]);
    const verify = await runHerdAsync(['verify-instance', before[0]!, '--json'], { home });
    const report = JSON.parse(verify.out) as { findings: { path: string; reason: string }[] };

    assert.notEqual(verify.status, 0);
    assert.deepEqual(
      report.findings.map((one) => [one.path, one.reason]),
      [['/usr/lib/os-release', 'sha256 differs from the manifest']],
    );
    const reloaded = await eventually('the image fetched anew', 60_000, () => journalReloads(home)[0]);
    // The quarantined one may have gone first, condemned; the reload removed what was left.
    assert.ok(reloaded.removed.length > 0, 'the reload removed the instances left of the changed copy');
    assert.ok(reloaded.removed.every((id) => before.includes(id)));
    assert.ok(!running('probe').some((id) => before.includes(id)), 'no instance of the changed copy runs');
    const judged = (await incidents()).filter((one) => before.includes(one.instance));
    assert.deepEqual(
      judged.map((one) => one.instance).sort(),
      before,
      'each instance of it judged, with its own incident',
    );
    const after = await ready('probe');
    const replacements = after.instances.map((one) => one.id);
    assert.ok(replacements.every((id) => !before.includes(id)));
    for (const id of replacements) {
      const clean = await runHerdAsync(['verify-instance', id, '--json'], { home });
      assert.equal(clean.status, 0, clean.out + clean.err);
      assert.deepEqual((JSON.parse(clean.out) as { findings: unknown[] }).findings, []);
    }
    assert.equal(
      await readFile(
        join(layerHolding(podman, replacements[0]!, 'usr/lib/os-release'), 'usr/lib/os-release'),
        'utf8',
      ),
      pristineOsRelease,
      'the layer on the host holds the signed bytes again',
    );
  });

  it('replays an exec made while the control plane was down: an incident soon after herd serve starts', async () => {
    await ready('probe');
    const [victim] = running('probe');
    up?.child.kill('SIGKILL');
    await new Promise((resolve) => up?.child.once('exit', resolve));

    // The probe image holds only probe-server; a second one exits at once (port taken): enough.
    podman(['exec', victim!, '/usr/bin/probe-server'], { allowFailure: true });
    const started = Date.now();
    up = startHerd(['serve', '--port', '0'], home, { HERD_LOG_LEVEL: 'info' });
    await up.waitFor(/fleet API at/, 60_000);
    let seen: Incident[] = [];
    // The replay waits for the engine's event log to be read from the cursor: seconds on a loaded machine.
    const incident = await eventually(
      'the exec incident',
      60_000,
      async () => {
        seen = await incidents();
        return seen.find((one) => one.instance === victim && one.kind === 'exec');
      },
      () =>
        `incidents ${JSON.stringify(seen.map((one) => [one.instance, one.kind]))}\n${up?.output().slice(-6000)}`,
    );

    console.log(
      `# exec incident ${Date.parse(incident.detectedAt) - started} ms after herd serve was started`,
    );
    assert.equal(incident.summary, 'exec session opened');
  });
});

/** The layer directory (`…/overlay/<id>/diff`) of the instance's image that holds `path`. */
function layerHolding(podman: Podman, instance: string, path: string): string {
  const image = podman(['inspect', '--format', '{{.Image}}', instance]).trim();
  const dirs = podman([
    'image',
    'inspect',
    '--format',
    '{{.GraphDriver.Data.UpperDir}}:{{.GraphDriver.Data.LowerDir}}',
    image,
  ])
    .trim()
    .split(':')
    .filter(Boolean);
  const found = dirs.find((dir) => spawnSync('test', ['-f', join(dir, path)]).status === 0);
  assert.ok(found, `no layer of ${image} holds ${path}: ${dirs.join(', ')}`);
  return found;
}

/** The journal's image-reloaded events, oldest first. */
function journalReloads(home: string): { removed: string[]; reason: string }[] {
  const db = new Database(join(home, 'herd.db'), { readonly: true });
  try {
    const rows = db.prepare("SELECT details FROM journal WHERE action = 'replace' ORDER BY id").all() as {
      details: string;
    }[];
    return rows
      .map((row) => JSON.parse(row.details) as { event: string; removed: string[]; reason: string })
      .filter((details) => details.event === 'image-reloaded');
  } finally {
    db.close();
  }
}
