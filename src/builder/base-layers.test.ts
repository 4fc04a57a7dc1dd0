import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LayerEntries } from '../oci/flatten-layers.js';
import type { TarReadEntry } from '../oci/tar.js';
import { readEntry as entry } from '../oci/tar.test-support.js';
import { baseTreeOf, flattenBaseLayers } from './base-layers.js';

function layer(name: string, ...entries: TarReadEntry[]): LayerEntries {
  return { digest: `sha256:${name.repeat(64).slice(0, 64)}`, entries };
}

// The flattening rules themselves are tested beside the reader, in src/oci/flatten-layers.test.ts.
describe('flattenBaseLayers and baseTreeOf', () => {
  it('gives the tree relative paths, owned by base, with the last layer winning', () => {
    const files = baseTreeOf(
      flattenBaseLayers([
        layer('a', entry('./etc/'), entry('./etc/motd', { data: Buffer.from('one') })),
        layer(
          'b',
          entry('etc/motd', { data: Buffer.from('two'), mode: 0o600 }),
          entry('bin', { type: 'symlink', linkname: 'usr/bin', typeflag: '2' }),
        ),
      ]),
    );

    assert.deepEqual([...files.keys()].sort(), ['bin', 'etc', 'etc/motd']);
    assert.equal(files.get('etc/motd')?.data?.toString(), 'two');
    assert.equal(files.get('etc/motd')?.mode, 0o600);
    assert.equal(files.get('bin')?.target, 'usr/bin');
    assert.deepEqual([...new Set([...files.values()].map((node) => node.owner))], ['base']);
  });

  const hostile: [string, TarReadEntry[]][] = [
    ['an absolute path', [entry('/etc/cron.d/evil')]],
    ['a device node', [entry('dev/sda', { type: 'block', typeflag: '4' })]],
    [
      'a symlink that climbs above the root',
      [entry('etc/evil', { type: 'symlink', linkname: '../../x', typeflag: '2' })],
    ],
    [
      'an entry under a symlink',
      [entry('lib', { type: 'symlink', linkname: '/etc', typeflag: '2' }), entry('lib/cron.d/evil')],
    ],
    ['a whiteout that names nothing', [entry('etc/.wh.')]],
  ];
  for (const [what, entries] of hostile) {
    it(`refuses ${what} as BASE_UNSAFE, naming the layer`, () => {
      assert.throws(
        () => flattenBaseLayers([layer('e', ...entries)]),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'BASE_UNSAFE');
          assert.match(error.message ?? '', /^base layer sha256:eee/);
          return true;
        },
      );
    });
  }
});
