import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baselineOf } from './baseline.js';
import { expectedPaths } from './expected-paths.js';
import { judgeChanges } from './judge-changes.js';
import { judgeWritableEntry } from './scan-writable.js';

const baseline = baselineOf([
  { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, sha256: 'a'.repeat(64) },
  { path: '/etc/motd', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, sha256: 'c'.repeat(64) },
  { path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin/server', type: 'file', mode: 0o755, uid: 0, gid: 0, size: 10, sha256: 'b'.repeat(64) },
]);
const expected = expectedPaths(['/tmp', '/var/cache/app']);

describe('judgeChanges', () => {
  it("ignores the mount points podman 4.3 makes in every instance's upper layer", () => {
    // What podman 4.3 answered for a fresh probe instance (see the e2e tests).
    const changes = [
      { path: '/etc', kind: 'added' },
      { path: '/etc/group', kind: 'added' },
      { path: '/etc/passwd', kind: 'added' },
      { path: '/var', kind: 'added' },
      { path: '/var/tmp', kind: 'added' },
      { path: '/var/cache/app', kind: 'added' },
      { path: '/run/.containerenv', kind: 'added' },
    ] as const;

    assert.deepEqual(judgeChanges(changes, { baseline, expected }), []);
  });

  it('reports a file added outside the writable paths, and not its directory', () => {
    const findings = judgeChanges(
      [
        { path: '/usr/bin', kind: 'modified' },
        { path: '/usr/bin/backdoor', kind: 'added' },
      ],
      { baseline, expected },
    );

    assert.deepEqual(findings, [
      { path: '/usr/bin/backdoor', change: 'added', reason: 'not in the file manifest' },
    ]);
  });

  it('reports a modified, a replaced and a deleted image file', () => {
    const findings = judgeChanges(
      [
        { path: '/usr/bin/server', kind: 'modified' },
        { path: '/etc/ssl', kind: 'deleted' },
        { path: '/etc/motd', kind: 'added' },
      ],
      { baseline, expected },
    );

    assert.deepEqual(
      findings.map((finding) => [finding.path, finding.change]),
      [
        ['/usr/bin/server', 'modified'],
        ['/etc/ssl', 'deleted'],
        ['/etc/motd', 'modified'],
      ],
    );
  });

  it('leaves what the workload writes under its writable paths to the writable scan', () => {
    assert.deepEqual(
      judgeChanges([{ path: '/var/cache/app/data.db', kind: 'added' }], { baseline, expected }),
      [],
    );
  });
});

describe('judgeWritableEntry', () => {
  const entry = (mode: number, type: 'file' | 'dir' | 'char' = 'file') => ({
    path: '/tmp/x',
    type,
    mode,
    uid: 65532,
    gid: 65532,
    size: 1,
  });

  it('counts an executable, a setuid file and a device node in a writable path as drift', () => {
    assert.equal(judgeWritableEntry(entry(0o755), '/tmp'), 'executable in writable /tmp');
    assert.equal(judgeWritableEntry(entry(0o4644), '/tmp'), 'setuid or setgid file in writable /tmp');
    assert.equal(judgeWritableEntry(entry(0o600, 'char'), '/tmp'), 'char node in writable /tmp');
  });

  it("judges an intruder's other shapes by what they are: a FIFO is drift, a hard link like its file, a link to /usr/bin/sh is not", () => {
    const at = { path: '/tmp/x', uid: 65532, gid: 65532, size: 0 };
    assert.equal(
      judgeWritableEntry({ ...at, type: 'fifo', mode: 0o644 }, '/dev/shm'),
      'fifo node in writable /dev/shm',
    );
    assert.equal(
      judgeWritableEntry({ ...at, type: 'hardlink', mode: 0o755 }, '/tmp'),
      'executable in writable /tmp',
    );
    assert.equal(judgeWritableEntry({ ...at, type: 'hardlink', mode: 0o644 }, '/tmp'), undefined);
    // Running it runs the image's own shell: what the process allowlist judges, not drift.
    assert.equal(judgeWritableEntry({ ...at, type: 'symlink', mode: 0o777 }, '/tmp'), undefined);
  });

  it('lets the workload write plain files and directories', () => {
    assert.equal(judgeWritableEntry(entry(0o644), '/tmp'), undefined);
    assert.equal(judgeWritableEntry(entry(0o755, 'dir'), '/tmp'), undefined);
  });
});
