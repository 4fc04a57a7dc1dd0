import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TopProcess } from './engine-json.js';
import { resolveExecutables } from './host-processes.js';

/**
 * A tree shaped like /proc: per host pid, `status` (NSpid), `ns/pid`, `ns/mnt` and `exe` as real
 * symlinks, so readlink reads them as it reads the kernel's.
 */
async function fakeProc(
  root: string,
  processes: { hostPid: number; nsPid: number[]; pidNs: string; mntNs: string; exe: string }[],
  self = 'pid:[1]',
): Promise<void> {
  await mkdir(join(root, 'self', 'ns'), { recursive: true });
  await symlink(self, join(root, 'self', 'ns', 'pid'));
  for (const one of processes) {
    const dir = join(root, String(one.hostPid));
    await mkdir(join(dir, 'ns'), { recursive: true });
    await writeFile(join(dir, 'status'), `Name:\tx\nNSpid:\t${one.nsPid.join('\t')}\n`);
    await symlink(one.pidNs, join(dir, 'ns', 'pid'));
    await symlink(one.mntNs, join(dir, 'ns', 'mnt'));
    await symlink(one.exe, join(dir, 'exe'));
  }
}

const instanceNs = { pidNs: 'pid:[900]', mntNs: 'mnt:[901]' };

function top(rows: Partial<TopProcess>[]): TopProcess[] {
  return rows.map((row) => ({ pid: 0, ppid: 0, user: '65532', command: 'x', ...row }));
}

describe('resolveExecutables', () => {
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-host-proc-'));
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("reads each process's executable by its host pid, and hashes it only when asked", async () => {
    const proc = join(work, 'plain');
    const binary = join(work, 'server-binary');
    await writeFile(binary, 'the server');
    await fakeProc(proc, [
      { hostPid: 100, nsPid: [100, 1], ...instanceNs, exe: '/run/podman-init' },
      { hostPid: 101, nsPid: [101, 6], ...instanceNs, exe: binary },
    ]);
    const sampled = top([
      { hostPid: 100, pid: 1, ppid: 0 },
      { hostPid: 101, pid: 6, ppid: 1 },
    ]);

    const plain = await resolveExecutables(sampled, { procRoot: proc });
    const hashed = await resolveExecutables(sampled, { procRoot: proc, hash: true });

    assert.deepEqual(
      plain.map((one) => [one.pid, one.executable, one.sha256]),
      [
        [1, '/run/podman-init', undefined],
        [6, binary, undefined],
      ],
    );
    assert.equal(hashed[1]?.sha256, createHash('sha256').update('the server').digest('hex'));
    assert.equal(hashed[0]?.sha256, undefined, 'a path that is not there is named, not hashed');
    assert.equal('hostPid' in (plain[0] ?? {}), false, 'the host pid stays inside the engine');
  });

  it('finds a process top gives no host pid for by its pid namespace, and marks one outside the filesystem', async () => {
    const proc = join(work, 'entered');
    await fakeProc(proc, [
      { hostPid: 200, nsPid: [200, 1], ...instanceNs, exe: '/run/podman-init' },
      { hostPid: 250, nsPid: [250, 23], pidNs: instanceNs.pidNs, mntNs: 'mnt:[1]', exe: '/usr/bin/sleep' },
      { hostPid: 251, nsPid: [251, 23], pidNs: 'pid:[777]', mntNs: 'mnt:[777]', exe: '/elsewhere' },
    ]);

    const [, entered] = await resolveExecutables(
      top([
        { hostPid: 200, pid: 1 },
        { pid: 23, ppid: 0, user: '0' },
      ]),
      { procRoot: proc },
    );

    assert.equal(entered?.executable, '/usr/bin/sleep');
    assert.equal(entered?.outside, true);
  });

  it('believes no host pid that is not that pid in the instance pid namespace (reused, or another host)', async () => {
    const proc = join(work, 'reused');
    await fakeProc(proc, [
      { hostPid: 300, nsPid: [300, 1], ...instanceNs, exe: '/run/podman-init' },
      // Host pid 301 now belongs to another namespace's pid 6.
      { hostPid: 301, nsPid: [301, 6], pidNs: 'pid:[555]', mntNs: 'mnt:[555]', exe: '/other' },
      // Host pid 302 is in the instance, but as pid 9, not 7.
      { hostPid: 302, nsPid: [302, 9], ...instanceNs, exe: '/not-seven' },
    ]);

    const resolved = await resolveExecutables(
      top([
        { hostPid: 300, pid: 1 },
        { hostPid: 301, pid: 6, ppid: 1 },
        { hostPid: 302, pid: 7, ppid: 1 },
      ]),
      { procRoot: proc },
    );

    assert.deepEqual(
      resolved.map((one) => one.executable),
      ['/run/podman-init', undefined, undefined],
    );
  });

  it("gives no executables when the init shares the reader's pid namespace or is not pid 1 in its own", async () => {
    const host = join(work, 'host-namespace');
    await fakeProc(host, [
      { hostPid: 400, nsPid: [400], pidNs: 'pid:[1]', mntNs: 'mnt:[1]', exe: '/sbin/init' },
    ]);
    const wrong = join(work, 'not-init');
    await fakeProc(wrong, [{ hostPid: 500, nsPid: [500, 4], ...instanceNs, exe: '/x' }]);

    const [onHost] = await resolveExecutables(top([{ hostPid: 400, pid: 1 }]), { procRoot: host });
    const [notInit] = await resolveExecutables(top([{ hostPid: 500, pid: 1 }]), { procRoot: wrong });
    const [gone] = await resolveExecutables(top([{ hostPid: 999, pid: 1 }]), { procRoot: wrong });

    assert.equal(onHost?.executable, undefined);
    assert.equal(notInit?.executable, undefined);
    assert.equal(gone?.executable, undefined);
  });
});
