import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TarReadEntry } from '../oci/tar.js';
import { flattenLayers } from './flatten-layers.js';

function entry(path: string, options: Partial<TarReadEntry> = {}): TarReadEntry {
  const data = options.data;
  return {
    path,
    type: 'file',
    typeflag: '0',
    offset: 0,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data?.length ?? 0,
    mtime: 0,
    ...(data ? { data } : {}),
    ...options,
  };
}
const dir = (path: string) => entry(path, { type: 'dir', typeflag: '5', mode: 0o755 });
const file = (path: string, text: string) => entry(path, { data: Buffer.from(text) });

describe('flattening layers', () => {
  it('applies layers in order: a later layer replaces a path, and paths become absolute', () => {
    const rootfs = flattenLayers([
      [dir('./'), dir('./etc/'), file('./etc/motd', 'one')],
      [file('etc/motd', 'two')],
    ]);

    assert.deepEqual([...rootfs.keys()], ['/etc', '/etc/motd']);
    assert.equal(rootfs.get('/etc/motd')?.data?.toString(), 'two');
  });

  it('deletes a path and all below it for a whiteout, wherever it sits in the layer', () => {
    const rootfs = flattenLayers([
      [dir('app'), file('app/a', 'a'), dir('app/cache'), file('app/cache/x', 'x')],
      [file('app/new', 'n'), file('app/.wh.cache', ''), file('app/.wh.a', '')],
    ]);

    assert.deepEqual([...rootfs.keys()], ['/app', '/app/new']);
  });

  it("empties a folder of what lower layers put there for an opaque whiteout, keeping this layer's files", () => {
    const rootfs = flattenLayers([
      [dir('app'), file('app/old', 'o')],
      [file('app/fresh', 'f'), file('app/.wh..wh..opq', '')],
    ]);

    assert.deepEqual([...rootfs.keys()], ['/app', '/app/fresh']);
  });

  it('replaces a folder and its contents with a file of the same name', () => {
    const rootfs = flattenLayers([[dir('data'), file('data/x', 'x')], [file('data', 'now a file')]]);

    assert.deepEqual([...rootfs.keys()], ['/data']);
  });

  it("turns a hard link into a regular file with its target's bytes", () => {
    const rootfs = flattenLayers([
      [
        file('usr/bin/a', 'same'),
        entry('usr/bin/b', { type: 'hardlink', typeflag: '1', linkname: 'usr/bin/a' }),
      ],
    ]);

    assert.equal(rootfs.get('/usr/bin/b')?.type, 'file');
    assert.equal(rootfs.get('/usr/bin/b')?.data?.toString(), 'same');
  });

  it('sorts paths component by component, as the file manifest does', () => {
    const rootfs = flattenLayers([[dir('a-b'), dir('a'), file('a/b', '')]]);

    assert.deepEqual([...rootfs.keys()], ['/a', '/a/b', '/a-b']);
  });

  it('refuses device nodes, unsafe paths and hard links to nothing', () => {
    const cases = [
      [entry('dev/null', { type: 'char', typeflag: '3' })],
      [file('../escape', 'x')],
      [file('/etc/passwd', 'x')],
      [entry('usr/bin/b', { type: 'hardlink', typeflag: '1', linkname: 'usr/bin/missing' })],
    ];
    for (const layer of cases) {
      assert.throws(() => flattenLayers([layer], { names: ['layer sha256:1'] }), { code: 'LAYER_INVALID' });
    }
  });
});
