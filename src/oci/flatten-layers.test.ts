import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flattenLayers, type LayerEntries } from './flatten-layers.js';
import type { TarReadEntry } from './tar.js';
import { readEntry as entry } from './tar.test-support.js';

const dir = (path: string) => entry(path, { type: 'dir', typeflag: '5', mode: 0o755 });
const file = (path: string, text: string) => entry(path, { data: Buffer.from(text) });
const symlink = (path: string, target: string) =>
  entry(path, { type: 'symlink', linkname: target, typeflag: '2', mode: 0o777 });

function layer(name: string, ...entries: TarReadEntry[]): LayerEntries {
  return { digest: `sha256:${name.repeat(64).slice(0, 64)}`, entries };
}

function pathsOf(layers: LayerEntries[]): string[] {
  return [...flattenLayers(layers).keys()];
}

describe('flattenLayers', () => {
  it('applies layers in order: a later layer replaces a path, and paths become absolute', () => {
    const rootfs = flattenLayers([
      layer('a', dir('./'), dir('./etc/'), file('./etc/motd', 'one')),
      layer('b', entry('etc/motd', { data: Buffer.from('two'), mode: 0o600 })),
    ]);

    assert.deepEqual([...rootfs.keys()], ['/etc', '/etc/motd']);
    assert.equal(rootfs.get('/etc/motd')?.data?.toString(), 'two');
    assert.equal(rootfs.get('/etc/motd')?.mode, 0o600);
    assert.equal(rootfs.get('/etc/motd')?.size, 3);
  });

  it('hides a lower file or folder behind a .wh. whiteout, and empties a folder behind an opaque one', () => {
    const lower = layer(
      'a',
      entry('etc/'),
      entry('etc/passwd'),
      entry('etc/shadow'),
      entry('opt/'),
      entry('opt/tool/'),
      entry('opt/tool/bin'),
      entry('var/'),
      entry('var/cache/'),
      entry('var/cache/old'),
    );
    const upper = layer(
      'b',
      entry('etc/.wh.shadow'),
      entry('opt/.wh.tool'),
      entry('var/cache/.wh..wh..opq'),
      entry('var/cache/new'),
    );

    assert.deepEqual(pathsOf([lower, upper]), [
      '/etc',
      '/etc/passwd',
      '/opt',
      '/var',
      '/var/cache',
      '/var/cache/new',
    ]);
  });

  it('deletes a path and all below it for a whiteout, wherever it sits in the layer', () => {
    const rootfs = flattenLayers([
      layer('a', dir('app'), file('app/a', 'a'), dir('app/cache'), file('app/cache/x', 'x')),
      layer('b', file('app/new', 'n'), file('app/.wh.cache', ''), file('app/.wh.a', '')),
    ]);

    assert.deepEqual([...rootfs.keys()], ['/app', '/app/new']);
  });

  it("empties a folder of what lower layers put there for an opaque whiteout, keeping this layer's files", () => {
    const rootfs = flattenLayers([
      layer('a', dir('app'), file('app/old', 'o')),
      layer('b', file('app/fresh', 'f'), file('app/.wh..wh..opq', '')),
    ]);

    assert.deepEqual([...rootfs.keys()], ['/app', '/app/fresh']);
  });

  it('does not let a whiteout hide an entry of its own layer', () => {
    const only = layer('a', entry('etc/'), entry('etc/.wh.motd'), entry('etc/motd'));

    assert.deepEqual(pathsOf([only]), ['/etc', '/etc/motd']);
  });

  it('drops a folder and its contents when a later layer puts a file or a link at its path', () => {
    const lower = layer('a', entry('opt/'), entry('opt/x'), entry('data/'), entry('data/y'));
    const upper = layer('b', symlink('opt', 'usr/opt'), file('data', 'now a file'));

    assert.deepEqual(pathsOf([lower, upper]), ['/data', '/opt']);
  });

  it("keeps a folder's contents when a later layer only changes its metadata", () => {
    const lower = layer('a', entry('opt/'), entry('opt/x'));
    const upper = layer('b', entry('opt/', { mode: 0o700 }));

    const rootfs = flattenLayers([lower, upper]);

    assert.equal(rootfs.get('/opt')?.mode, 0o700);
    assert.ok(rootfs.has('/opt/x'));
  });

  it("turns a hard link into a copy of a file from this or a lower layer, with the target's bytes and metadata", () => {
    const lower = layer('a', entry('bin/'), entry('bin/gzip', { data: Buffer.from('gzip'), mode: 0o755 }));
    const upper = layer(
      'b',
      entry('bin/gunzip', { type: 'hardlink', linkname: 'bin/gzip', typeflag: '1', mode: 0o755 }),
      file('usr/bin/a', 'same'),
      entry('usr/bin/b', { type: 'hardlink', typeflag: '1', linkname: 'usr/bin/a' }),
    );

    const rootfs = flattenLayers([lower, upper]);

    assert.equal(rootfs.get('/bin/gunzip')?.type, 'file');
    assert.equal(rootfs.get('/bin/gunzip')?.data?.toString(), 'gzip');
    assert.equal(rootfs.get('/bin/gunzip')?.mode, 0o755);
    assert.equal(rootfs.get('/bin/gunzip')?.size, 4);
    assert.equal(rootfs.get('/usr/bin/b')?.data?.toString(), 'same');
  });

  it('refuses a hard link whose header gives its file another mode or owner than the target has', () => {
    const lower = layer('a', entry('bin/'), entry('bin/true', { data: Buffer.from('elf'), mode: 0o755 }));
    for (const differs of [{ mode: 0o4755 }, { uid: 1000 }, { gid: 42 }]) {
      const hard = entry('bin/su', {
        type: 'hardlink',
        linkname: 'bin/true',
        typeflag: '1',
        mode: 0o755,
        ...differs,
      });

      assert.throws(() => flattenLayers([lower, layer('b', hard)]), {
        code: 'LAYER_UNSAFE',
        message: new RegExp(
          `^layer sha256:${'b'.repeat(64)}: entry "bin/su" is a hard link with mode .* but its target /bin/true has mode 0755 owner 0:0`,
        ),
      });
    }
  });

  it('keeps links that stay inside the root, absolute targets included', () => {
    const rootfs = flattenLayers([
      layer('a', symlink('bin', 'usr/bin'), symlink('usr/bin/awk', '/etc/alternatives/awk')),
      layer('b', symlink('usr/lib/x/y', '../../../z')),
    ]);

    assert.equal(rootfs.get('/bin')?.target, 'usr/bin');
    assert.equal(rootfs.get('/usr/bin/awk')?.target, '/etc/alternatives/awk');
    assert.equal(rootfs.get('/usr/lib/x/y')?.target, '../../../z');
  });

  it('sorts paths component by component, as the file manifest does', () => {
    const rootfs = flattenLayers([layer('a', dir('a-b'), dir('a'), file('a/b', ''))]);

    assert.deepEqual([...rootfs.keys()], ['/a', '/a/b', '/a-b']);
  });

  const hostile: [string, TarReadEntry[], string][] = [
    ['an absolute path', [entry('/etc/cron.d/evil')], '/etc/cron.d/evil'],
    ['a .. path', [entry('usr/../../etc/evil')], 'usr/../../etc/evil'],
    ['a file that names the root', [entry('./', { type: 'file', typeflag: '0' })], './'],
    ['a device node', [entry('dev/sda', { type: 'block', typeflag: '4' })], 'dev/sda'],
    ['a character device', [entry('dev/mem', { type: 'char', typeflag: '3' })], 'dev/mem'],
    ['a fifo', [entry('run/pipe', { type: 'fifo', typeflag: '6' })], 'run/pipe'],
    ['a symlink that climbs above the root', [symlink('etc/evil', '../../x')], 'etc/evil'],
    ['a symlink with an empty target', [symlink('etc/empty', '')], 'etc/empty'],
    [
      'a hard link to nothing',
      [entry('bin/x', { type: 'hardlink', linkname: 'bin/missing', typeflag: '1' })],
      'bin/x',
    ],
    [
      'a hard link to a folder',
      [dir('etc/'), entry('bin/x', { type: 'hardlink', linkname: 'etc', typeflag: '1' })],
      'bin/x',
    ],
    ['an entry under a symlink', [symlink('lib', '/etc'), entry('lib/cron.d/evil')], 'lib/cron.d/evil'],
    ['an entry under a file', [file('etc', 'x'), entry('etc/passwd')], 'etc/passwd'],
    ['a world-writable root', [entry('./', { type: 'dir', typeflag: '5', mode: 0o777 })], './'],
    [
      'a root owned by another user',
      [entry('./', { type: 'dir', typeflag: '5', mode: 0o755, uid: 1000 })],
      './',
    ],
    ['a whiteout that names nothing', [entry('etc/.wh.')], 'etc/.wh.'],
    ['a whiteout that names the parent', [entry('etc/.wh..')], 'etc/.wh..'],
    ['a whiteout that is not a file', [entry('etc/.wh.x/')], 'etc/.wh.x/'],
  ];
  for (const [what, entries, path] of hostile) {
    it(`refuses ${what} as LAYER_UNSAFE, naming the layer and the entry`, () => {
      assert.throws(
        () => flattenLayers([layer('e', ...entries)]),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'LAYER_UNSAFE');
          assert.ok(
            error.message?.startsWith(`layer sha256:${'e'.repeat(64)}: entry ${JSON.stringify(path)} `),
            error.message,
          );
          return true;
        },
      );
    });
  }

  it('refuses an entry or a whiteout under a symlink that a lower layer made', () => {
    const lower = layer('a', symlink('lib', '/etc'));

    for (const upper of [file('lib/cron.d/evil', 'x'), file('lib/.wh.passwd', '')]) {
      assert.throws(() => flattenLayers([lower, layer('b', upper)]), {
        code: 'LAYER_UNSAFE',
        message: `layer sha256:${'b'.repeat(64)}: entry ${JSON.stringify(upper.path)} lies under /lib, which is a symlink`,
      });
    }
  });

  it('refuses a whiteout under a folder that its own layer turns into a symlink or a file', () => {
    const lower = layer('a', dir('lib/'), file('lib/passwd', 'x'), dir('etc/'), file('etc/passwd', 'root'));

    for (const [made, whiteout] of [
      [symlink('lib', '/etc'), file('lib/.wh.passwd', '')],
      [symlink('lib', '/etc'), file('lib/.wh..wh..opq', '')],
      [file('lib', 'x'), file('lib/.wh.passwd', '')],
    ] as const) {
      assert.throws(() => flattenLayers([lower, layer('b', made, whiteout)]), {
        code: 'LAYER_UNSAFE',
        message: `layer sha256:${'b'.repeat(64)}: entry ${JSON.stringify(whiteout.path)} lies under /lib, which is a ${made.type}`,
      });
    }
  });
});
