import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceProcess } from '../engines/engine.js';
import type { ProcessAllowlist } from './allowed-processes.js';
import { executablesKnown, judgeProcesses } from './judge-processes.js';

const allowlist: ProcessAllowlist = {
  executables: new Set(['/usr/bin/node']),
  inits: new Set(['/run/podman-init']),
  source: 'default',
};
const init: InstanceProcess = {
  pid: 1,
  ppid: 0,
  user: '65532',
  command: '/run/podman-init -- /usr/bin/node /app/server.js',
  executable: '/run/podman-init',
};
const app: InstanceProcess = {
  pid: 2,
  ppid: 1,
  user: '65532',
  command: '/usr/bin/node /app/server.js',
  executable: '/usr/bin/node',
};

describe('judgeProcesses', () => {
  it('passes the init as pid 1 and the app, and a second node process too (an allowed interpreter may run any script)', () => {
    const worker = { ...app, pid: 3, ppid: 2, command: '/usr/bin/node /app/worker.js' };
    const retitled = { ...app, pid: 4, command: 'hello-server' };

    assert.deepEqual(judgeProcesses([init, app, worker, retitled], allowlist), []);
  });

  it('finds a shell, a program run from /tmp and the init run again, by the file each runs whatever its command line says', () => {
    const shell = { ...app, pid: 7, command: '/usr/bin/node', executable: '/usr/bin/dash' };
    const dropped = { ...app, pid: 8, command: 'sh /tmp/x', executable: '/tmp/x' };
    const initAgain = { ...init, pid: 9, ppid: 2 };

    const findings = judgeProcesses([init, app, shell, dropped, initAgain], allowlist);

    assert.deepEqual(
      findings.map((one) => [one.pid, one.executable, one.reason]),
      [
        [7, '/usr/bin/dash', "not the image's entrypoint or init"],
        [8, '/tmp/x', "not the image's entrypoint or init"],
        [9, '/run/podman-init', "runs the engine's init, but not as pid 1"],
      ],
    );
    assert.equal(
      findings.some((one) => 'command' in one),
      false,
      'a finding never carries the command line',
    );
  });

  it('finds a process entered from the host even when its path is on the list, and a deleted file', () => {
    const entered = { ...app, pid: 23, ppid: 0, user: '0', outside: true as const };
    const deleted = { ...app, pid: 24, executable: '/usr/bin/node (deleted)' };

    const findings = judgeProcesses([init, entered, deleted], { ...allowlist, source: 'spec' });

    assert.deepEqual(
      findings.map((one) => [one.pid, one.user, one.reason]),
      [
        [23, '0', 'runs a file from outside the instance (entered from the host)'],
        [24, '65532', 'runs a file deleted since it started'],
      ],
    );
  });

  it('says which list it broke: run.processes when the spec has one', () => {
    const [finding] = judgeProcesses([{ ...app, executable: '/usr/bin/perl' }], {
      ...allowlist,
      source: 'spec',
    });

    assert.equal(finding?.reason, 'not in run.processes');
  });

  it('leaves a process whose executable could not be read unjudged, and says when none could be', () => {
    const unread = { pid: 5, ppid: 1, user: '65532', command: 'x' };

    assert.deepEqual(judgeProcesses([init, unread], allowlist), []);
    assert.equal(executablesKnown([unread]), false);
    assert.equal(executablesKnown([init, unread]), true);
  });
});
