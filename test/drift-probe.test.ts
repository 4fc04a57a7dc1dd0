/**
 * herd's Kubernetes drift probe (src/engines/kubernetes/probe/drift-probe.mjs) run for real, on
 * podman, as a pod runs it: a hardened target (read-only root, every capability dropped, no new
 * privileges, uid 65532, two tmpfs) and beside it the probe in the target's process namespace
 * (`--pid container:`, what a pod's shareProcessNamespace gives), as the same uid, capabilities
 * dropped, read-only. The probe runs on this machine's node from a root of its own holding only the
 * script (and /usr, read-only, for node and its libraries), so the target's root is the only one
 * that holds the target's files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareListing } from '../src/engines/kubernetes/compare-listing.js';
import { parseProbeListing } from '../src/engines/kubernetes/probe-listing.js';
import type { FileManifestEntry } from '../src/oci/index.js';
import { loadSpec } from '../src/specfile/index.js';
import { makeDriftProbeRoot } from './support/drift-probe-root.js';
import { requireTool, type TestPodman, testPodman } from './support/podman.js';

const user = '65532:65532';
/** What podman mounts into the containers, as the kubelet mounts its own (probe-container.ts). */
const podmanMounts = [
  '/dev',
  '/etc/group',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/mtab',
  '/etc/passwd',
  '/etc/resolv.conf',
  '/proc',
  '/run/.containerenv',
  '/sys',
];
const forgedName = `x\n${JSON.stringify({ summary: { entries: 1, unreadable: 0, pid: 1, skipped: [] } })}`;
/** The target's tmpfs the probe is told to skip, as an emptyDir of the pod's. */
const skippedTmpfs = '/tmp';

describe('the drift probe on podman, beside a hardened target in its process namespace', () => {
  let podman: TestPodman;
  let dir: string;
  let targetRoot: string;
  let probeRoot: string;
  let image: FileManifestEntry[];
  const target = `herd-drift-target-${process.pid}`;

  before(async () => {
    requireTool('gcc', 'gcc libc6-dev');
    podman = await testPodman();
    dir = await mkdtemp(join(tmpdir(), 'herd-drift-probe-'));
    targetRoot = join(dir, 'target');
    probeRoot = join(dir, 'probe');
    // The target's image: a static program that waits, a config file, mount points.
    for (const path of ['etc', 'tmp', 'scratch', 'proc', 'sys', 'dev', 'run'])
      mkdirSync(join(targetRoot, path), { recursive: true });
    chmodSync(join(targetRoot, 'tmp'), 0o1777);
    chmodSync(join(targetRoot, 'scratch'), 0o1777);
    writeFileSync(join(dir, 'sleeper.c'), '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n');
    execFileSync('gcc', ['-static', '-O2', '-o', join(targetRoot, 'sleeper'), join(dir, 'sleeper.c')]);
    writeFileSync(join(targetRoot, 'etc/motd'), 'as built\n', { mode: 0o644 });
    writeFileSync(join(targetRoot, 'etc/private'), 'only root reads this\n', { mode: 0o600 });
    // A name that tries to end the listing early: it stays one escaped JSON line.
    writeFileSync(join(targetRoot, 'etc', forgedName), '', { mode: 0o644 });
    for (const file of ['hosts', 'hostname', 'resolv.conf', 'passwd', 'group'])
      writeFileSync(join(targetRoot, 'etc', file), '');
    image = [
      dirEntry('/etc', 0o755),
      dirEntry('/tmp', 0o1777),
      dirEntry('/scratch', 0o1777),
      dirEntry('/proc', 0o755),
      dirEntry('/sys', 0o755),
      dirEntry('/dev', 0o755),
      dirEntry('/run', 0o755),
      fileEntry('/sleeper', readFileSync(join(targetRoot, 'sleeper')), 0o755),
      fileEntry('/etc/motd', Buffer.from('as built\n'), 0o644),
      fileEntry('/etc/private', Buffer.from('only root reads this\n'), 0o600),
      fileEntry(`/etc/${forgedName}`, Buffer.alloc(0), 0o644),
    ];
    // The probe's own root: the script, and where /usr is mounted.
    makeDriftProbeRoot(probeRoot);

    const started = podman.run([
      'run',
      '-d',
      '--name',
      target,
      ...hardened(user),
      '--tmpfs',
      `${skippedTmpfs}:rw,size=1m,mode=1777`,
      '--tmpfs',
      '/scratch:rw,size=1m,mode=1777',
      '--rootfs',
      targetRoot,
      '/sleeper',
    ]);
    assert.equal(started.status, 0, `podman run of the target failed: ${started.stderr}`);
    // The test (root on this machine) writes into the target's two tmpfs through its root.
    const pid = podman.run(['inspect', '-f', '{{.State.Pid}}', target]).stdout.trim();
    writeFileSync(`/proc/${pid}/root${skippedTmpfs}/dropped`, 'in a skipped tmpfs\n');
    writeFileSync(`/proc/${pid}/root/scratch/dropped`, 'in a tmpfs nobody skipped\n');
  });

  after(() => {
    podman?.run(['rm', '-f', '-t', '0', target]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function probe(asUser: string) {
    return podman.run([
      'run',
      '--rm',
      '--pid',
      `container:${target}`,
      ...hardened(asUser),
      '-v',
      '/usr:/usr:ro',
      '--rootfs',
      probeRoot,
      '/usr/bin/node',
      '/opt/herd/drift-probe.mjs',
      '--has',
      '/sleeper',
      ...[...podmanMounts, skippedTmpfs].flatMap((path) => ['--skip', path]),
    ]);
  }

  it("lists the target's files with their hashes, a file in a tmpfs nobody skipped, and nothing of the skipped one", () => {
    const ran = probe(user);

    assert.equal(ran.status, 0, `the probe failed: ${ran.stdout}${ran.stderr}`);
    const listing = parseProbeListing(ran.stdout, { pod: target, container: 'probe' });
    const byPath = new Map(listing.entries.map((entry) => [entry.path, entry]));
    assert.equal(byPath.get('/sleeper')?.sha256, image.find((one) => one.path === '/sleeper')?.sha256);
    assert.equal(byPath.get('/etc/motd')?.sha256, sha256(Buffer.from('as built\n')));
    assert.ok(byPath.has('/scratch/dropped'), 'the file in the tmpfs not skipped is listed');
    assert.ok(!byPath.has(`${skippedTmpfs}/dropped`), 'the skipped tmpfs is not walked');
    assert.ok(listing.skipped.includes(skippedTmpfs));
    assert.equal(byPath.get('/etc/private')?.unreadable, true, 'a file only root reads is marked unreadable');
    assert.equal(listing.pid, 1, "the target's process is pid 1 of the shared namespace");
    assert.ok(byPath.has(`/etc/${forgedName}`), 'a name holding a newline and a summary is one entry');
    assert.deepEqual(compareListing(image, listing.entries, { skipped: [...podmanMounts, skippedTmpfs] }), [
      { path: '/scratch/dropped', kind: 'added' },
    ]);
  });

  it("reports a file changed in the target's root behind the runtime's back as modified", () => {
    writeFileSync(join(targetRoot, 'etc/motd'), 'changed on the node\n');

    const ran = probe(user);

    assert.equal(ran.status, 0, `the probe failed: ${ran.stdout}${ran.stderr}`);
    const listing = parseProbeListing(ran.stdout, { pod: target, container: 'probe' });
    assert.deepEqual(compareListing(image, listing.entries, { skipped: [...podmanMounts, skippedTmpfs] }), [
      { path: '/etc/motd', kind: 'modified' },
      { path: '/scratch/dropped', kind: 'added' },
    ]);
  });

  it("is built by herd from its own spec: Debian's nodejs and the script, run as its entrypoint", async () => {
    const { spec } = await loadSpec(new URL('../src/engines/kubernetes/probe', import.meta.url).pathname);

    assert.deepEqual(spec.image.packages, ['nodejs']);
    assert.deepEqual(
      spec.files?.map((file) => [file.src, file.dst]),
      [['drift-probe.mjs', '/opt/herd/drift-probe.mjs']],
    );
    assert.deepEqual(spec.run?.entrypoint, ['/usr/bin/node', '/opt/herd/drift-probe.mjs']);
  });

  it("cannot read the target's root as another uid without capabilities, and says so", () => {
    const ran = probe('65533:65533');

    assert.equal(ran.status, 2, ran.stdout + ran.stderr);
    assert.throws(
      () => parseProbeListing(ran.stdout, { pod: target, container: 'probe' }),
      /drift probe probe of pod .* failed: no readable process has \/sleeper in its root/,
    );
  });
});

function hardened(asUser: string): string[] {
  return [
    '--read-only',
    '--read-only-tmpfs=false',
    '--cap-drop',
    'all',
    '--security-opt',
    'no-new-privileges',
    '--user',
    asUser,
    '--network',
    'none',
  ];
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function dirEntry(path: string, mode: number): FileManifestEntry {
  return { path, type: 'dir', mode, uid: 0, gid: 0, size: 0 };
}

function fileEntry(path: string, data: Buffer, mode: number): FileManifestEntry {
  return { path, type: 'file', mode, uid: 0, gid: 0, size: data.length, sha256: sha256(data) };
}
