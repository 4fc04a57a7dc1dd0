import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TarReadEntry } from '../oci/tar.js';
import { type BaseLayerEntries, flattenBaseLayers } from './base-layers.js';

function entry(path: string, fields: Partial<TarReadEntry> = {}): TarReadEntry {
  const type = fields.type ?? (path.endsWith('/') ? 'dir' : 'file');
  return {
    path,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: fields.data?.length ?? 0,
    mtime: 0,
    typeflag: type === 'dir' ? '5' : '0',
    offset: 0,
    ...(type === 'file' ? { data: Buffer.from(path) } : {}),
    ...fields,
  };
}

function layer(name: string, ...entries: TarReadEntry[]): BaseLayerEntries {
  return { name: `sha256:${name.repeat(64).slice(0, 64)}`, entries };
}

function pathsOf(layers: BaseLayerEntries[]): string[] {
  return [...flattenBaseLayers(layers).keys()].sort();
}

describe('flattenBaseLayers', () => {
  it('applies layers in order, later files replacing earlier ones, and owns everything as base', () => {
    const files = flattenBaseLayers([
      layer('a', entry('./etc/'), entry('./etc/motd', { data: Buffer.from('one') })),
      layer('b', entry('etc/motd', { data: Buffer.from('two'), mode: 0o600 })),
    ]);

    assert.equal(files.get('etc/motd')?.data?.toString(), 'two');
    assert.equal(files.get('etc/motd')?.mode, 0o600);
    assert.deepEqual([...new Set([...files.values()].map((node) => node.owner))], ['base']);
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
      'etc',
      'etc/passwd',
      'opt',
      'var',
      'var/cache',
      'var/cache/new',
    ]);
  });

  it('does not let a whiteout hide an entry of its own layer', () => {
    const only = layer('a', entry('etc/'), entry('etc/.wh.motd'), entry('etc/motd'));

    assert.deepEqual(pathsOf([only]), ['etc', 'etc/motd']);
  });

  it('drops a folder and its contents when a later layer puts a file at its path', () => {
    const lower = layer('a', entry('opt/'), entry('opt/x'));
    const upper = layer('b', entry('opt', { type: 'symlink', linkname: 'usr/opt', typeflag: '2' }));

    assert.deepEqual(pathsOf([lower, upper]), ['opt']);
  });

  it("keeps a folder's contents when a later layer only changes its metadata", () => {
    const lower = layer('a', entry('opt/'), entry('opt/x'));
    const upper = layer('b', entry('opt/', { mode: 0o700 }));

    const files = flattenBaseLayers([lower, upper]);

    assert.equal(files.get('opt')?.mode, 0o700);
    assert.ok(files.has('opt/x'));
  });

  it('turns a hard link into a copy of a file from this or a lower layer', () => {
    const lower = layer('a', entry('bin/'), entry('bin/gzip', { data: Buffer.from('gzip'), mode: 0o755 }));
    const upper = layer('b', entry('bin/gunzip', { type: 'hardlink', linkname: 'bin/gzip', typeflag: '1' }));

    const files = flattenBaseLayers([lower, upper]);

    assert.equal(files.get('bin/gunzip')?.type, 'file');
    assert.equal(files.get('bin/gunzip')?.data?.toString(), 'gzip');
    assert.equal(files.get('bin/gunzip')?.mode, 0o755);
  });

  const hostile: [string, TarReadEntry[]][] = [
    ['an absolute path', [entry('/etc/cron.d/evil')]],
    ['a .. path', [entry('usr/../../etc/evil')]],
    ['a device node', [entry('dev/sda', { type: 'block', typeflag: '4' })]],
    ['a character device', [entry('dev/mem', { type: 'char', typeflag: '3' })]],
    [
      'a symlink that climbs above the root',
      [entry('etc/evil', { type: 'symlink', linkname: '../../x', typeflag: '2' })],
    ],
    [
      'a hard link to nothing',
      [entry('bin/x', { type: 'hardlink', linkname: 'bin/missing', typeflag: '1' })],
    ],
    [
      'an entry under a symlink',
      [entry('lib', { type: 'symlink', linkname: '/etc', typeflag: '2' }), entry('lib/cron.d/evil')],
    ],
    ['a whiteout that names nothing', [entry('etc/.wh.')]],
    ['a whiteout that is not a file', [entry('etc/.wh.x/')]],
  ];
  for (const [what, entries] of hostile) {
    it(`refuses ${what} as BASE_UNSAFE, naming the layer`, () => {
      assert.throws(
        () => flattenBaseLayers([layer('e', ...entries)]),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'BASE_UNSAFE');
          assert.match(error.message ?? '', /base layer sha256:eee/);
          return true;
        },
      );
    });
  }
});
