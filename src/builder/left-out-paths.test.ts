import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DebContents } from '../debian/index.js';
import { parseSpecText, type Spec } from '../specfile/index.js';
import { type AppFileData, composeRootfs } from './compose-rootfs.js';
import { fileManifestOf } from './file-manifest.js';
import { leftOutPaths } from './left-out-paths.js';

function specWith(...imageLines: string[]): Spec {
  return parseSpecText(
    ['apiVersion: herd/v1', 'service: hello', 'image:', '  packages: [libdemo]', ...imageLines, ''].join(
      '\n',
    ),
    'herd.yaml',
  );
}

const shipped = {
  'usr/lib/x86_64-linux-gnu/libdemo.so.1': 'the library',
  'usr/lib/x86_64-linux-gnu/libdemo.a': 'an archive for the linker',
  'usr/include/demo.h': 'int demo(void);',
  'usr/lib/debug/.build-id/ab/cdef.debug': 'dwarf',
  'usr/share/gdb/auto-load/usr/lib/x86_64-linux-gnu/libdemo.so.1-gdb.py': 'import gdb',
  'usr/share/nodejs/@types/demo/index.d.ts': 'export declare function demo(): number;',
  'usr/share/nodejs/demo/index.js': 'module.exports = () => 1;',
  'usr/lib/x86_64-linux-gnu/gconv/CP850.so': 'a charset converter',
  'usr/share/doc/libdemo/copyright':
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
} as const;

type ShippedPath = keyof typeof shipped;

type DebFile = DebContents['files'][number];

/** libdemo as a .deb would unpack it: folders first, then the files, with its own md5sums. */
function composeLibdemo(spec: Spec, extra: { files?: DebFile[]; appFiles?: AppFileData[] } = {}) {
  const paths = Object.keys(shipped) as ShippedPath[];
  const folders = [...new Set(paths.flatMap((path) => ancestorsOf(path)))].sort();
  const files: DebFile[] = [
    ...folders.map((path): DebFile => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 })),
    ...paths.map(
      (path): DebFile => ({
        path,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: shipped[path].length,
        data: Buffer.from(shipped[path]),
      }),
    ),
  ];
  const md5sums = paths.map((path) => `0123456789abcdef0123456789abcdef  ${path}`).join('\n');
  const locked = {
    name: 'libdemo',
    version: '1.0-1',
    architecture: 'amd64',
    source: 'demo',
    sourceVersion: '1.0-1',
    suite: 'bookworm',
    filename: 'pool/main/d/demo/libdemo_1.0-1_amd64.deb',
    size: 1,
    sha256: '0'.repeat(64),
    reason: 'requested',
  };
  const control = 'Package: libdemo\nVersion: 1.0-1\nArchitecture: amd64\n';
  return composeRootfs({
    spec,
    packages: [{ locked, deb: { control, md5sums, files: [...files, ...(extra.files ?? [])] } }],
    appFiles: extra.appFiles ?? [],
  });
}

function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

describe('leftOutPaths', () => {
  it('leaves out debug files, static libraries, headers and TypeScript declarations by default', () => {
    const leftOut = leftOutPaths(specWith().image);

    assert.equal(leftOut('usr/lib/debug/.build-id/ab/cdef.debug'), true);
    assert.equal(leftOut('usr/share/gcc/python/libstdcxx/v6/printers.py'), true);
    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/libz.a'), true);
    assert.equal(leftOut('usr/include/zlib.h'), true);
    assert.equal(leftOut('usr/include'), true);
    assert.equal(leftOut('usr/share/nodejs/@types/node/fs.d.ts'), true);
  });

  it('keeps what runs: shared libraries, JavaScript, gconv modules, files merely named like a group', () => {
    const leftOut = leftOutPaths(specWith().image);

    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/libz.so.1.2.13'), false);
    assert.equal(leftOut('usr/share/nodejs/undici/index.js'), false);
    assert.equal(leftOut('usr/share/nodejs/demo/types.ts'), false);
    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/gconv/CP850.so'), false);
    assert.equal(leftOut('etc/demo.a'), false);
    assert.equal(leftOut('usr/share/debug/notes'), false);
  });

  it('leaves out the gconv modules only when the spec names the group', () => {
    const leftOut = leftOutPaths(specWith('  strip: [gconv]').image);

    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/gconv/CP850.so'), true);
    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/gconv-modules-extra.conf'), true);
    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/gconv'), true);
    assert.equal(leftOut('usr/include/zlib.h'), false, 'a list names exactly the groups it strips');
  });

  it('leaves out nothing beyond exclude with strip: false', () => {
    const leftOut = leftOutPaths(specWith('  strip: false').image);

    assert.equal(leftOut('usr/lib/x86_64-linux-gnu/libz.a'), false);
    assert.equal(leftOut('usr/include/zlib.h'), false);
    assert.equal(leftOut('usr/share/doc/zlib1g/changelog.gz'), true);
  });

  it('lets a keep pattern win over a strip group', () => {
    const leftOut = leftOutPaths(specWith('  keep: [/usr/include/demo.h]').image);

    assert.equal(leftOut('usr/include/demo.h'), false);
    assert.equal(leftOut('usr/include/other.h'), true);
  });
});

describe('an image with files left out', () => {
  it('has neither the files nor their md5sums lines nor their file manifest entries', () => {
    const tree = composeLibdemo(specWith('  strip: [debug, static, headers, typescript, gconv]'));
    const manifest = fileManifestOf(tree).entries.map((entry) => entry.path);
    const md5sums = tree.get('var/lib/dpkg/status.d/libdemo.md5sums')?.data?.toString('utf8') ?? '';

    const present = (Object.keys(shipped) as ShippedPath[]).filter((path) => tree.get(path));
    assert.deepEqual(present, [
      'usr/lib/x86_64-linux-gnu/libdemo.so.1',
      'usr/share/nodejs/demo/index.js',
      'usr/share/doc/libdemo/copyright',
    ]);
    assert.deepEqual(
      md5sums
        .trimEnd()
        .split('\n')
        .map((line) => line.split('  ')[1]),
      present,
    );
    for (const path of Object.keys(shipped) as ShippedPath[]) {
      assert.equal(manifest.includes(`/${path}`), present.includes(path), `/${path} in the file manifest`);
    }
    assert.equal(tree.get('usr/include'), undefined, 'the emptied header folder is gone too');
    assert.equal(tree.get('usr/lib/x86_64-linux-gnu/gconv'), undefined);
    assert.equal(tree.get('usr/lib/debug'), undefined);
  });

  it('keeps the bytes of a hard link whose target was left out', () => {
    const link: DebFile = {
      path: 'usr/lib/x86_64-linux-gnu/libdemo-copy.so.1',
      type: 'hardlink',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: shipped['usr/lib/x86_64-linux-gnu/libdemo.a'].length,
      linkname: 'usr/lib/x86_64-linux-gnu/libdemo.a',
    };

    const tree = composeLibdemo(specWith(), { files: [link] });

    assert.equal(tree.get('usr/lib/x86_64-linux-gnu/libdemo.a'), undefined);
    assert.equal(tree.get(link.path)?.data?.toString('utf8'), shipped['usr/lib/x86_64-linux-gnu/libdemo.a']);
  });

  it('never leaves out the app files, even at a path a group names', () => {
    const header = { dst: '/usr/include/app.h', mode: 0o644, uid: 0, gid: 0, data: Buffer.from('int app;') };

    const tree = composeLibdemo(specWith('  strip: true'), { appFiles: [header] });

    assert.equal(tree.get('usr/include/app.h')?.data?.toString('utf8'), 'int app;');
    assert.equal(tree.get('usr/include/demo.h'), undefined);
  });

  it('keeps every file the package ships, byte for byte, that no pattern matches', () => {
    const tree = composeLibdemo(specWith('  strip: false', '  excludeDefaults: false'));

    for (const path of Object.keys(shipped) as ShippedPath[]) {
      assert.equal(tree.get(path)?.data?.toString('utf8'), shipped[path], path);
    }
  });
});
