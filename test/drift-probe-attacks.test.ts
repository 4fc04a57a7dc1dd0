/**
 * herd's Kubernetes drift probe attacked for real, on podman: an intruder inside a hardened target
 * (the workload's uid 65532, capabilities dropped, read-only root), in the process namespace the
 * probe joins (`--pid container:`, what a pod's shareProcessNamespace gives). The intruder is
 * test/fixtures/drift-intruder.c, started in the target with `podman exec` (the harness playing
 * the attacker); each attack must end in a failed probe or a refused listing, never a listing that
 * hides a change. What herd does with probes that keep failing: src/watch/blinded-watch.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseProbeListing } from '../src/engines/kubernetes/probe-listing.js';
import { makeDriftProbeRoot } from './support/drift-probe-root.js';
import { requireTool, type TestPodman, testPodman } from './support/podman.js';

const user = '65532:65532';
const podmanMounts = [
  '/dev',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/proc',
  '/run/.containerenv',
  '/sys',
];
const where = { pod: 'target', container: 'probe' };

describe('the drift probe attacked by an intruder of the same uid in its process namespace', () => {
  let podman: TestPodman;
  let dir: string;
  let probeRoot: string;
  const target = `herd-drift-attacked-${process.pid}`;

  before(async () => {
    requireTool('gcc', 'gcc libc6-dev');
    podman = await testPodman();
    dir = await mkdtemp(join(tmpdir(), 'herd-drift-attacks-'));
    const targetRoot = join(dir, 'target');
    probeRoot = join(dir, 'probe');
    for (const path of ['etc', 'tmp', 'proc', 'sys', 'dev', 'run'])
      mkdirSync(join(targetRoot, path), { recursive: true });
    chmodSync(join(targetRoot, 'tmp'), 0o1777);
    writeFileSync(join(dir, 'sleeper.c'), '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n');
    execFileSync('gcc', ['-static', '-O2', '-o', join(targetRoot, 'sleeper'), join(dir, 'sleeper.c')]);
    execFileSync('gcc', [
      '-static',
      '-O2',
      '-o',
      join(targetRoot, 'intruder'),
      new URL('fixtures/drift-intruder.c', import.meta.url).pathname,
    ]);
    for (const file of ['hosts', 'hostname', 'resolv.conf', 'passwd', 'group'])
      writeFileSync(join(targetRoot, 'etc', file), '');
    makeDriftProbeRoot(probeRoot);
    const started = podman.run([
      'run',
      '-d',
      '--name',
      target,
      ...hardened(),
      '--tmpfs',
      '/tmp:rw,size=64m,mode=1777',
      '--rootfs',
      targetRoot,
      '/sleeper',
    ]);
    assert.equal(started.status, 0, `podman run of the target failed: ${started.stderr}`);
  });

  after(() => {
    podman?.run(['rm', '-f', '-t', '0', target]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a file into the target as its workload could (the test is root on this machine). */
  function plant(path: string, content: string) {
    writeFileSync(`/proc/${targetPid()}/root/${path}`, content, { mode: 0o755 });
  }

  function targetPid(): string {
    return podman.run(['inspect', '-f', '{{.State.Pid}}', target]).stdout.trim();
  }

  /** The intruder, started in the target: it waits for the next probe. */
  function intrude(...args: string[]) {
    const started = podman.run(['exec', '-d', '--user', user, target, '/intruder', ...args]);
    assert.equal(started.status, 0, `podman exec of the intruder failed: ${started.stderr}`);
  }

  let probes = 0;

  /**
   * The probe started as the engine starts one, detached: its log is what conmon kept of its stdout,
   * as the kubelet keeps a container's.
   */
  function startProbe(...args: string[]): string {
    probes += 1;
    const name = `${target}-probe-${probes}`;
    const started = podman.run([
      'run',
      '-d',
      '--name',
      name,
      '--pid',
      `container:${target}`,
      ...hardened(),
      '-v',
      '/usr:/usr:ro',
      '--rootfs',
      probeRoot,
      '/usr/bin/node',
      '/opt/herd/drift-probe.mjs',
      '--has',
      '/sleeper',
      ...podmanMounts.flatMap((path) => ['--skip', path]),
      ...args,
    ]);
    assert.equal(started.status, 0, `podman run of the probe failed: ${started.stderr}`);
    return name;
  }

  /** Until the probe ends: its exit code and its log. */
  function probeEnded(name: string): { exitCode: number; log: string } {
    const waited = podman.run(['wait', name]);
    assert.equal(waited.status, 0, waited.stderr);
    const log = podman.run(['logs', name]);
    podman.run(['rm', '-f', '-t', '0', name]);
    return { exitCode: Number(waited.stdout.trim()), log: log.stdout };
  }

  it('is killed: it exits with 137 and leaves no summary, an error for the engine (never "no changes")', async () => {
    intrude('kill');
    const ran = probeEnded(startProbe());

    assert.equal(ran.exitCode, 137, ran.log);
    assert.throws(() => parseProbeListing(ran.log, where), /no summary line|failed/);
  });

  it('gets a forged listing and summary written into its stdout: the real listing follows, and the log is refused', async () => {
    const forged = `${JSON.stringify({ path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0 })}\n${JSON.stringify({ summary: { entries: 1, unreadable: 0, pid: 1, skipped: [] } })}\n`;
    intrude('inject', forged);
    const ran = probeEnded(startProbe());

    console.log(ran.exitCode, ran.log.slice(0, 400));
    assert.throws(() => parseProbeListing(ran.log, where), /after its summary|counts/);
  });

  it('is stopped (SIGSTOP): it never ends, so the engine times it out (an error, never "no changes")', async () => {
    intrude('stop');
    const name = startProbe();

    await new Promise((resolve) => setTimeout(resolve, 3000));
    const state = podman.run(['inspect', '-f', '{{.State.Status}}', name]).stdout.trim();
    const log = podman.run(['logs', name]).stdout;
    podman.run(['rm', '-f', '-t', '0', name]);
    assert.equal(state, 'running', 'stopped, it has not ended');
    assert.throws(() => parseProbeListing(log, where), /no summary line/);
  });

  it('plants hostile names and trees where it writes: a name that is not UTF-8 is listed (as hex), a FIFO and link loops are listed without blocking or following', () => {
    const tmp = `/proc/${targetPid()}/root/tmp`;
    mkdirSync(`${tmp}/hostile`);
    writeFileSync(Buffer.from(`${tmp}/hostile/\xff-miner`, 'latin1'), 'x', { mode: 0o755 });
    execFileSync('mkfifo', [`${tmp}/hostile/fifo`]);
    symlinkSync('loop', `${tmp}/hostile/loop`);
    symlinkSync('b', `${tmp}/hostile/a`);
    symlinkSync('a', `${tmp}/hostile/b`);

    const ran = probeEnded(startProbe());

    assert.equal(ran.exitCode, 0, ran.log);
    const listed = new Map(parseProbeListing(ran.log, where).entries.map((entry) => [entry.path, entry]));
    assert.equal(listed.get('/tmp/hostile/<not utf-8: ff2d6d696e6572>')?.type, 'file');
    assert.equal(listed.get('/tmp/hostile/fifo')?.type, 'fifo');
    assert.equal(listed.get('/tmp/hostile/loop')?.target, 'loop');
    assert.equal(listed.get('/tmp/hostile/a')?.target, 'b');
    rmSync(`${tmp}/hostile`, { recursive: true });
  });

  it('fails, never passes over a path, on a tree deeper than the kernel resolves, too many names or a listing longer than the kubelet keeps', () => {
    const tmp = `/proc/${targetPid()}/root/tmp`;
    // 420 levels of 10 characters: past PATH_MAX (4096) under /proc/<pid>/root, made a level at a time.
    execFileSync(
      'sh',
      [
        '-c',
        'mkdir deep && cd deep && for i in $(seq 420); do mkdir dddddddddd && cd dddddddddd || exit 1; done',
      ],
      { cwd: tmp },
    );
    const deep = probeEnded(startProbe());
    execFileSync('rm', ['-rf', `${tmp}/deep`]);
    mkdirSync(`${tmp}/many`);
    for (let n = 0; n < 300; n += 1) writeFileSync(`${tmp}/many/${n}`, '');
    const many = probeEnded(startProbe('--max-entries', '200'));
    const honest = probeEnded(startProbe());
    const long = probeEnded(startProbe('--max-bytes', '4000'));
    rmSync(`${tmp}/many`, { recursive: true });

    assert.equal(deep.exitCode, 2, deep.log.slice(-300));
    assert.throws(
      () => parseProbeListing(deep.log, where),
      /failed: cannot read \(ENAMETOOLONG\) \/tmp\/deep\/dddddddddd\/.*characters\)/,
    );
    assert.equal(many.exitCode, 2, many.log.slice(-300));
    assert.throws(() => parseProbeListing(many.log, where), /failed: \/tmp\/many holds more names than the/);
    assert.equal(long.exitCode, 2, long.log.slice(-300));
    assert.throws(() => parseProbeListing(long.log, where), /failed: the listing passed 4000 bytes/);
    // The kubelet's rotation takes the head of a long log: what is left is refused, not believed.
    assert.equal(honest.exitCode, 0);
    const rotated = honest.log.split('\n').slice(40).join('\n');
    assert.throws(() => parseProbeListing(rotated, where), /listed \d+ entries but its summary counts \d+/);
  });

  it('swaps two files of its own under the walk: never an entry passed as unreadable (compared by its metadata only), each one hashed as the inode it describes', () => {
    const tmp = `/proc/${targetPid()}/root/tmp`;
    mkdirSync(`${tmp}/app`);
    writeFileSync(`${tmp}/app/conf`, 'pristine\n', { mode: 0o644 });
    writeFileSync(`${tmp}/app/other`, 'tampered\n', { mode: 0o644 });
    execFileSync('chown', ['-R', user, `${tmp}/app`]);
    intrude('swap', '/tmp/app/conf', '/tmp/app/other');

    const outcomes: string[] = [];
    try {
      for (let run = 0; run < 6; run += 1) {
        const ran = probeEnded(startProbe());
        if (ran.exitCode !== 0) {
          assert.throws(() => parseProbeListing(ran.log, where), /changed while it was read/);
          outcomes.push('failed');
          continue;
        }
        const swapped = parseProbeListing(ran.log, where).entries.filter((entry) =>
          entry.path.startsWith('/tmp/app/'),
        );
        assert.deepEqual(
          swapped.filter((entry) => entry.unreadable),
          [],
          'a file swapped between lstat and open is not passed as unreadable',
        );
        outcomes.push('listed');
      }
    } finally {
      // The swapper ends when its files are gone.
      rmSync(`${tmp}/app`, { recursive: true });
    }
    assert.equal(outcomes.length, 6);
  });

  it("RESIDUAL (docs/adr/0014): an intruder who reads the probe's stdout through /proc/<pid>/fd/1 and writes back a listing without its file is believed", async () => {
    plant('tmp/miner', '\x7fELF pretend this is a miner');
    const honest = probeEnded(startProbe());
    assert.equal(honest.exitCode, 0, honest.log);
    assert.ok(
      parseProbeListing(honest.log, where).entries.some((entry) => entry.path === '/tmp/miner'),
      'without the intruder, the probe lists the file',
    );

    // The intruder and the runtime both read the pipe, and whoever reads first takes the bytes:
    // the intruder wins most races here; ten are plenty for one win.
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= 10 && !outcomes.includes('believed'); attempt += 1) {
      intrude('rewrite', '/tmp/miner');
      const ran = probeEnded(startProbe());
      try {
        const listing = parseProbeListing(ran.log, where);
        const hidden = !listing.entries.some((entry) => entry.path === '/tmp/miner');
        outcomes.push(ran.exitCode === 0 && hidden ? 'believed' : 'honest');
      } catch {
        outcomes.push('refused');
      }
    }

    assert.ok(outcomes.includes('believed'), `the forged listing was never believed: ${outcomes.join(', ')}`);
  });
});

function hardened(): string[] {
  return [
    '--read-only',
    '--read-only-tmpfs=false',
    '--cap-drop',
    'all',
    '--security-opt',
    'no-new-privileges',
    '--user',
    user,
    '--network',
    'none',
  ];
}
