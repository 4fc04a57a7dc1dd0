import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceLabels, legacyRevisionLabel } from '../engine.js';
import {
  type ContainerInspect,
  demultiplexLogs,
  ExecFrameReader,
  engineEventFrom,
  eventCursorOf,
  filesystemChangesFrom,
  instanceFromInspect,
  instanceFromListEntry,
  LogStreamReader,
  topProcessesFrom,
} from './engine-json.js';

const digest = `sha256:${'c'.repeat(64)}` as const;
const labels = {
  [instanceLabels.managedBy]: 'herd',
  [instanceLabels.service]: 'web',
  [instanceLabels.revision]: 'r1',
  [instanceLabels.digest]: digest,
};

function inspect(overrides: Partial<ContainerInspect> = {}): ContainerInspect {
  return {
    Id: 'abc',
    Created: '2024-05-01T10:00:00.5Z',
    State: { Status: 'running', ExitCode: 0, StartedAt: '2024-05-01T10:00:01Z' },
    Config: { Labels: labels },
    NetworkSettings: { Ports: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '41234' }] } },
    ...overrides,
  };
}

describe('instanceFromInspect', () => {
  it('reads the state, the published loopback port and the times of a running container', () => {
    const instance = instanceFromInspect(inspect());

    assert.deepEqual(instance, {
      id: 'abc',
      service: 'web',
      revision: 'r1',
      digest,
      labels,
      state: 'running',
      address: { host: '127.0.0.1', port: 41234 },
      createdAt: Date.parse('2024-05-01T10:00:00.5Z'),
      startedAt: Date.parse('2024-05-01T10:00:01Z'),
    });
  });

  it('gives an exited container its exit code and no address', () => {
    const instance = instanceFromInspect(
      inspect({ State: { Status: 'exited', ExitCode: 3, StartedAt: '2024-05-01T10:00:01Z' } }),
    );

    assert.equal(instance?.state, 'exited');
    assert.equal(instance?.exitCode, 3);
    assert.equal(instance?.address, undefined);
  });

  it('treats Go zero time as never started, and podman "configured" as created', () => {
    const instance = instanceFromInspect(
      inspect({ State: { Status: 'configured', ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z' } }),
    );

    assert.equal(instance?.state, 'created');
    assert.equal(instance?.startedAt, undefined);
  });

  it('is not an instance without valid herd labels', () => {
    assert.equal(
      instanceFromInspect(inspect({ Config: { Labels: { ...labels, [instanceLabels.managedBy]: 'x' } } })),
      undefined,
    );
    assert.equal(
      instanceFromInspect(inspect({ Config: { Labels: { ...labels, [instanceLabels.digest]: 'latest' } } })),
      undefined,
    );
    assert.equal(instanceFromInspect(inspect({ Config: { Labels: null } })), undefined);
  });

  it('reads the revision of an instance a previous herd labelled dev.herd.release', () => {
    const { [instanceLabels.revision]: _, ...rest } = labels;
    const old = { ...rest, [legacyRevisionLabel]: 'r0' };

    const instance = instanceFromInspect(inspect({ Config: { Labels: old } }));

    assert.equal(instance?.revision, 'r0');
    assert.equal(instance?.service, 'web');
  });

  it('prefers dev.herd.revision when an instance carries both labels', () => {
    const both = { ...labels, [legacyRevisionLabel]: 'r0' };

    assert.equal(instanceFromInspect(inspect({ Config: { Labels: both } }))?.revision, 'r1');
  });

  it('is not an instance with neither revision label', () => {
    const { [instanceLabels.revision]: _, ...none } = labels;

    assert.equal(instanceFromInspect(inspect({ Config: { Labels: none } })), undefined);
  });
});

describe('instanceFromListEntry', () => {
  it('reads the exit code from the status text and the port from the list', () => {
    const exited = instanceFromListEntry({
      Id: 'a',
      Created: 1_700_000_000,
      State: 'exited',
      Status: 'Exited (137) 2 seconds ago',
      Labels: labels,
    });
    const running = instanceFromListEntry({
      Id: 'b',
      Created: 1_700_000_000,
      State: 'running',
      Status: 'Up 3 seconds',
      Labels: labels,
      Ports: [{ IP: '127.0.0.1', PrivatePort: 8080, PublicPort: 39215, Type: 'tcp' }],
    });

    assert.equal(exited?.exitCode, 137);
    assert.equal(exited?.createdAt, 1_700_000_000_000);
    assert.deepEqual(running?.address, { host: '127.0.0.1', port: 39215 });
  });
});

describe('engineEventFrom', () => {
  const actor = (Attributes: Record<string, string>) => ({ ID: 'abc', Attributes });

  it('maps start, die and destroy or remove, and ignores the rest', () => {
    assert.deepEqual(engineEventFrom({ Type: 'container', Action: 'start', Actor: actor(labels) }), {
      kind: 'started',
      id: 'abc',
    });
    assert.deepEqual(
      engineEventFrom({ Type: 'container', Action: 'die', Actor: actor({ ...labels, exitCode: '3' }) }),
      {
        kind: 'exited',
        id: 'abc',
        exitCode: 3,
      },
    );
    assert.deepEqual(engineEventFrom({ Type: 'container', Action: 'destroy', Actor: actor(labels) }), {
      kind: 'removed',
      id: 'abc',
    });
    assert.deepEqual(engineEventFrom({ Type: 'container', Action: 'remove', Actor: actor(labels) }), {
      kind: 'removed',
      id: 'abc',
    });
    assert.equal(engineEventFrom({ Type: 'container', Action: 'cleanup', Actor: actor(labels) }), undefined);
  });

  it("ignores containers that are not herd's and events that are not about containers", () => {
    assert.equal(engineEventFrom({ Type: 'container', Action: 'start', Actor: actor({}) }), undefined);
    assert.equal(engineEventFrom({ Type: 'image', Action: 'remove', Actor: actor(labels) }), undefined);
  });

  it('gives each event a cursor from its time in nanoseconds, rounded down to the microsecond', () => {
    // As podman 4.3 sends it: JSON.parse reads 1796291952112224392 as 1796291952112224256.
    const record = JSON.parse(
      `{"Type":"container","Action":"exec","Actor":${JSON.stringify(actor(labels))},"time":1796291952,"timeNano":1796291952112224392}`,
    );

    assert.deepEqual(engineEventFrom(record), { kind: 'exec', id: 'abc', cursor: '1796291952.112224' });
    assert.equal(eventCursorOf({ time: 1796291952, timeNano: 1796291952000000500 }), '1796291952.000000');
  });

  it('falls back to whole seconds without timeNano, and gives no cursor without a time', () => {
    assert.equal(eventCursorOf({ time: 1796291952 }), '1796291952');
    assert.equal(eventCursorOf({}), undefined);
    assert.equal(eventCursorOf({ time: -1, timeNano: Number.NaN }), undefined);
  });
});

describe('demultiplexLogs', () => {
  const frame = (stream: number, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it('joins stdout and stderr frames in the order they were written', () => {
    const stream = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);

    assert.equal(demultiplexLogs(stream), 'out 1\nerr 1\nout 2\n');
  });

  it('passes a TTY stream, which has no frames, through as text', () => {
    assert.equal(demultiplexLogs(Buffer.from('plain text output\n')), 'plain text output\n');
  });
});

describe('exec events, filesystem changes and followed logs', () => {
  const actor = { ID: 'c1', Attributes: labels };

  it("maps podman 4.3's exec and docker's exec_create/exec_start (with their command) to exec, and ignores exec_died", () => {
    assert.deepEqual(engineEventFrom({ Type: 'container', Action: 'exec', Actor: actor }), {
      kind: 'exec',
      id: 'c1',
    });
    assert.deepEqual(engineEventFrom({ Type: 'container', Action: 'exec_create: sh -c id', Actor: actor }), {
      kind: 'exec',
      id: 'c1',
      command: 'sh -c id',
    });
    assert.deepEqual(engineEventFrom({ status: 'exec_start: bash', Actor: actor }), {
      kind: 'exec',
      id: 'c1',
      command: 'bash',
    });
    assert.equal(engineEventFrom({ Type: 'container', Action: 'exec_died', Actor: actor }), undefined);
  });

  it("reads docker's null as no changes, and maps the change kinds", () => {
    assert.deepEqual(filesystemChangesFrom(null), []);
    assert.deepEqual(
      filesystemChangesFrom([
        { Path: '/etc', Kind: 0 },
        { Path: '/tmp/x', Kind: 1 },
        { Path: '/usr/bin/y', Kind: 2 },
        { Path: '/odd', Kind: 7 },
      ]),
      [
        { path: '/etc', kind: 'modified' },
        { path: '/tmp/x', kind: 'added' },
        { path: '/usr/bin/y', kind: 'deleted' },
      ],
    );
  });

  it('reads timestamped lines from frames split anywhere, per stream, and keeps a last line without newline', () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const bytes = Buffer.concat([
      frame(1, '2025-01-01T00:00:00.123456789Z hel'),
      frame(2, '2025-01-01T00:00:01Z oops\n'),
      frame(1, 'lo\n2025-01-01T00:00:02Z bye'),
    ]);
    const reader = new LogStreamReader();

    const lines = [];
    for (let offset = 0; offset < bytes.length; offset += 5)
      lines.push(...reader.push(bytes.subarray(offset, offset + 5)));
    lines.push(...reader.end());

    assert.deepEqual(lines, [
      { stream: 'stderr', time: Date.parse('2025-01-01T00:00:01Z'), text: 'oops' },
      { stream: 'stdout', time: Date.parse('2025-01-01T00:00:00.123Z'), text: 'hello' },
      { stream: 'stdout', time: Date.parse('2025-01-01T00:00:02Z'), text: 'bye' },
    ]);
  });
});

describe('topProcessesFrom', () => {
  it("reads Podman's top for herd's descriptors: host pid, pid, parent, user and the whole command line", () => {
    // As podman 4.3 answers `ps_args=hpid,pid,ppid,user,args`; `?` for a process entered with nsenter.
    const body = {
      Titles: ['HPID', 'PID', 'PPID', 'USER', 'COMMAND'],
      Processes: [
        ['9030', '1', '0', '65532', '/run/podman-init -- /probe-server'],
        ['9040', '6', '1', '65532', '/probe-server'],
        ['?', '23', '0', '0', 'sleep', '60'],
      ],
    };

    const processes = topProcessesFrom(body, 'instance abc');

    assert.deepEqual(processes, [
      { hostPid: 9030, pid: 1, ppid: 0, user: '65532', command: '/run/podman-init -- /probe-server' },
      { hostPid: 9040, pid: 6, ppid: 1, user: '65532', command: '/probe-server' },
      { pid: 23, ppid: 0, user: '0', command: 'sleep 60' },
    ]);
  });

  it('refuses an answer in another shape rather than reading it as no processes', () => {
    const refusals = [
      { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [] },
      {},
      { Titles: ['HPID', 'PID', 'PPID', 'USER', 'COMMAND'], Processes: [['1', 'one', '0', 'u', 'x']] },
      { Titles: ['HPID', 'PID', 'PPID', 'USER', 'COMMAND'], Processes: [['1', '2']] },
    ];

    for (const body of refusals) {
      assert.throws(
        () => topProcessesFrom(body, 'instance abc'),
        (error: unknown) =>
          (error as { code?: string }).code === 'OTHER' && /instance abc/.test(String(error)),
        JSON.stringify(body),
      );
    }
  });
});

describe('ExecFrameReader', () => {
  it('splits framed exec output into stdout and stderr across chunk boundaries, dropping stdin echoes', () => {
    const frame = (kind: number, text: string) => {
      const head = Buffer.alloc(8);
      head[0] = kind;
      head.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([head, Buffer.from(text)]);
    };
    const all = Buffer.concat([frame(1, 'uid=65532 hi\n'), frame(0, 'typed'), frame(2, 'failing\n')]);
    const reader = new ExecFrameReader();

    const frames = [
      ...reader.push(all.subarray(0, 5)),
      ...reader.push(all.subarray(5, 30)),
      ...reader.push(all.subarray(30)),
    ];

    assert.deepEqual(
      frames.map((one) => [one.stream, one.data.toString()]),
      [
        ['stdout', 'uid=65532 hi\n'],
        ['stderr', 'failing\n'],
      ],
    );
  });
});
