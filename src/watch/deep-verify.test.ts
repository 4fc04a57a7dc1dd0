import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type TarEntry, writeTar } from '../oci/tar.js';
import { baselineOf, type FileManifestEntry } from './baseline.js';
import { verifyExport } from './deep-verify.js';
import { expectedPaths } from './expected-paths.js';

const server = Buffer.from('the server binary');
const passwd = Buffer.from('root:x:0:0::/root:/bin/sh\n');
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const manifest: FileManifestEntry[] = [
  { path: '/etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  {
    path: '/etc/passwd',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: passwd.length,
    sha256: sha(passwd),
  },
  { path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  {
    path: '/usr/bin/server',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: server.length,
    sha256: sha(server),
  },
  { path: '/usr/bin/srv', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: 'server' },
];

function exported(overrides: { drop?: string; replace?: TarEntry; add?: TarEntry[] } = {}): TarEntry[] {
  const image: TarEntry[] = [
    { path: 'dev/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 },
    { path: 'etc/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 },
    // What podman's export holds for a bind-mounted file: an empty placeholder.
    {
      path: 'etc/passwd',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 1,
      data: Buffer.alloc(0),
    },
    {
      path: 'etc/hosts',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 1,
      data: Buffer.alloc(0),
    },
    { path: 'usr/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
    { path: 'usr/bin/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
    {
      path: 'usr/bin/server',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: server.length,
      mtime: 0,
      data: server,
    },
    {
      path: 'usr/bin/srv',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      linkname: 'server',
    },
    { path: 'tmp/', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: 0 },
  ];
  const kept = image
    .filter((entry) => entry.path.replace(/\/$/, '') !== overrides.drop)
    .map((entry) => (overrides.replace && entry.path === overrides.replace.path ? overrides.replace : entry));
  return [...kept, ...(overrides.add ?? [])];
}

const context = { baseline: baselineOf(manifest), expected: expectedPaths(['/tmp']) };

async function* stream(tar: Buffer) {
  for (let offset = 0; offset < tar.length; offset += 1000) yield tar.subarray(offset, offset + 1000);
}

describe('verifyExport', () => {
  it('passes an export that matches the manifest, with the engine mount points around it', async () => {
    const result = await verifyExport(stream(writeTar(exported())), context);

    assert.deepEqual(result.findings, []);
    assert.equal(result.entries, 9);
    assert.equal(result.bytes, server.length);
  });

  it('finds a changed binary with the same size by its sha256, and keeps its first bytes', async () => {
    const evil = Buffer.from('the evil! binary');
    const replace: TarEntry = { ...exported()[6]!, data: Buffer.concat([evil, Buffer.from('x')]) };

    const result = await verifyExport(stream(writeTar(exported({ replace }))), { ...context, headBytes: 4 });

    assert.deepEqual(
      result.findings.map((finding) => [finding.path, finding.change, finding.reason]),
      [['/usr/bin/server', 'modified', 'sha256 differs from the manifest']],
    );
    assert.equal(result.findings[0]?.observed?.head?.toString(), 'the ');
  });

  it('finds an added file, a deleted one, a retargeted link and a changed mode', async () => {
    const tar = writeTar(
      exported({
        drop: 'usr/bin/server',
        replace: {
          path: 'usr/bin/srv',
          type: 'symlink',
          mode: 0o777,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: 0,
          linkname: '/bin/sh',
        },
        add: [
          {
            path: 'usr/bin/x',
            type: 'file',
            mode: 0o4755,
            uid: 0,
            gid: 0,
            size: 1,
            mtime: 0,
            data: Buffer.from('x'),
          },
          { path: 'usr/', type: 'dir', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0 },
        ],
      }),
    );

    const result = await verifyExport(stream(tar), context);

    assert.deepEqual(result.findings.map((finding) => [finding.path, finding.change]).sort(), [
      ['/usr', 'modified'],
      ['/usr/bin/server', 'deleted'],
      ['/usr/bin/srv', 'modified'],
      ['/usr/bin/x', 'added'],
    ]);
  });

  it('does not accept a bind-mount path whose placeholder holds other bytes than the image', async () => {
    const forged = Buffer.from('evil:x:0:0::/:/bin/sh\n');
    const replace: TarEntry = { ...exported()[2]!, size: forged.length, data: forged };

    const result = await verifyExport(stream(writeTar(exported({ replace }))), context);

    assert.deepEqual(
      result.findings.map((finding) => finding.path),
      ['/etc/passwd'],
    );
  });

  it('never passes a truncated export, even one cut at an entry boundary', async () => {
    const tar = writeTar(exported());

    await assert.rejects(verifyExport(stream(tar.subarray(0, 512 * 4)), context), {
      code: 'EXPORT_TRUNCATED',
    });
    await assert.rejects(verifyExport(stream(tar.subarray(0, tar.length - 1024)), context), {
      code: 'EXPORT_TRUNCATED',
    });
  });
});
