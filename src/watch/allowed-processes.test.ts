import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowlistOf,
  engineInits,
  imagePrograms,
  interpretersOf,
  resolveLinks,
} from './allowed-processes.js';
import { baselineOf, type FileManifestEntry } from './baseline.js';

const dir = (path: string): FileManifestEntry => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 0,
});
const file = (path: string, mode = 0o755): FileManifestEntry => ({
  path,
  type: 'file',
  mode,
  uid: 0,
  gid: 0,
  size: 10,
});
const link = (path: string, target: string): FileManifestEntry => ({
  path,
  type: 'symlink',
  mode: 0o777,
  uid: 0,
  gid: 0,
  size: 0,
  target,
});

/** Merged /usr as herd builds it, with Debian's alternatives-style links. */
const baseline = baselineOf([
  link('/bin', 'usr/bin'),
  link('/sbin', 'usr/sbin'),
  dir('/usr'),
  dir('/usr/bin'),
  file('/usr/bin/node'),
  link('/usr/bin/nodejs', 'node'),
  file('/usr/bin/dash'),
  link('/usr/bin/sh', 'dash'),
  file('/usr/bin/env'),
  file('/usr/bin/tini'),
  link('/usr/bin/loop-a', 'loop-b'),
  link('/usr/bin/loop-b', 'loop-a'),
  dir('/app'),
  file('/app/server.js', 0o644),
  file('/app/start.sh'),
  link('/app/current', '/app/../usr/bin/./node'),
]);

describe('resolveLinks', () => {
  it('resolves links on the way as the kernel would report the path, relative and absolute, through merged /usr', () => {
    assert.equal(resolveLinks('/bin/sh', baseline), '/usr/bin/dash');
    assert.equal(resolveLinks('/usr/bin/nodejs', baseline), '/usr/bin/node');
    assert.equal(resolveLinks('/app/current', baseline), '/usr/bin/node');
    assert.equal(resolveLinks('/usr/bin/../bin/node', baseline), '/usr/bin/node');
    assert.equal(resolveLinks('/opt/not-in-image', baseline), '/opt/not-in-image');
  });

  it('stops on a link loop instead of running forever', () => {
    assert.equal(resolveLinks('/usr/bin/loop-a', baseline), '/usr/bin/loop-a');
  });
});

describe('imagePrograms', () => {
  it('takes the entrypoint program and leaves a script argument out: node /app/server.js runs node', () => {
    assert.deepEqual(imagePrograms({ entrypoint: ['/usr/bin/node'], cmd: ['/app/server.js'] }, baseline), [
      '/usr/bin/node',
    ]);
    assert.deepEqual(imagePrograms({ entrypoint: ['/usr/bin/node', '/app/server.js'], cmd: [] }, baseline), [
      '/usr/bin/node',
    ]);
  });

  it("adds cmd's program when the entrypoint is a wrapper that runs it, and cmd's own without an entrypoint", () => {
    assert.deepEqual(
      imagePrograms({ entrypoint: ['/usr/bin/tini', '--'], cmd: ['/bin/sh', '-c', 'x'] }, baseline),
      ['/usr/bin/tini', '/bin/sh'],
    );
    assert.deepEqual(imagePrograms({ entrypoint: [], cmd: ['/app/start.sh'] }, baseline), ['/app/start.sh']);
  });

  it('finds a program named without a path on the PATH of the image, as the runtime does', () => {
    assert.deepEqual(imagePrograms({ entrypoint: ['nodejs'], cmd: [] }, baseline), ['/usr/bin/nodejs']);
    assert.deepEqual(imagePrograms({ entrypoint: ['node'], cmd: [], path: ['/opt/bin'] }, baseline), []);
    assert.deepEqual(imagePrograms({ entrypoint: ['missing'], cmd: [] }, baseline), []);
  });
});

describe('interpretersOf', () => {
  it("reads a script's interpreter from its first line, and env's program from the PATH", () => {
    assert.deepEqual(interpretersOf(Buffer.from('#!/bin/sh -e\necho hi\n'), baseline), ['/bin/sh']);
    assert.deepEqual(interpretersOf(Buffer.from('#! /usr/bin/env node\n'), baseline), [
      '/usr/bin/env',
      '/usr/bin/node',
    ]);
    assert.deepEqual(interpretersOf(Buffer.from('\x7fELF\x02\x01'), baseline), []);
    assert.deepEqual(
      interpretersOf(Buffer.from('#!sh\n'), baseline),
      [],
      'a relative interpreter does not run',
    );
    assert.deepEqual(interpretersOf(Buffer.alloc(0), baseline), []);
  });
});

describe('allowlistOf', () => {
  it('is the programs and their interpreters by default, resolved through links, with the engine inits', () => {
    const allowlist = allowlistOf({ programs: ['/app/start.sh'], interpreters: ['/bin/sh'] }, baseline);

    assert.deepEqual([...allowlist.executables].sort(), ['/app/start.sh', '/usr/bin/dash']);
    assert.deepEqual([...allowlist.inits], [...engineInits]);
    assert.equal(allowlist.source, 'default');
  });

  it('is exactly run.processes when the spec has one, resolved the same way', () => {
    const allowlist = allowlistOf(
      { declared: ['/usr/bin/nodejs', '/bin/sh'], programs: ['/usr/bin/tini'], interpreters: [] },
      baseline,
    );

    assert.deepEqual([...allowlist.executables].sort(), ['/usr/bin/dash', '/usr/bin/node']);
    assert.equal(allowlist.source, 'spec');
  });
});
