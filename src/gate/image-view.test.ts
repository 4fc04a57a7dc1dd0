import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compactJson } from '../common/index.js';
import { herdHome } from '../herd-home.js';
import { attachArtifact } from '../oci/attach-artifact.js';
import { sha256Digest } from '../oci/digest.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type TarEntry, writeTar } from '../oci/tar.js';
import { type Descriptor, type Digest, MediaType } from '../oci/types.js';
import { fileManifestArtifactType, gateLayerCache, loadImageView } from './image-view.js';
import { memoryImageView } from './memory-image.js';

const file = (path: string, text: string, mode = 0o644): TarEntry => {
  const data = Buffer.from(text);
  return { path, type: 'file', mode, uid: 0, gid: 0, size: data.length, mtime: 0, data };
};
const dir = (path: string): TarEntry => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
});
const link = (path: string, target: string): TarEntry => ({
  path,
  type: 'symlink',
  mode: 0o777,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  linkname: target,
});

const lockText = `${JSON.stringify(
  {
    lockVersion: 1,
    suites: [
      { suite: 'bookworm', codename: 'bookworm', inRelease: 'a'.repeat(64), signer: 'ABCDEF0123456789' },
    ],
    packages: [
      {
        name: 'libssl3',
        version: '3.0.11-1~deb12u2',
        architecture: 'amd64',
        source: 'openssl',
        suite: 'bookworm',
      },
    ],
  },
  null,
  2,
)}\n`;

async function putImage(
  store: LayoutStore,
  layers: TarEntry[][],
  labels: Record<string, string> = {},
): Promise<Descriptor> {
  const blobs = await Promise.all(
    layers.map(async (entries) => store.putBlob(gzipSync(writeTar(entries)), MediaType.layerGzip)),
  );
  const config = await store.putJson(
    {
      architecture: 'amd64',
      os: 'linux',
      config: { User: '65532:65532', Env: ['PATH=/usr/bin'], Labels: labels },
      rootfs: { type: 'layers', diff_ids: layers.map((entries) => sha256Digest(writeTar(entries))) },
    },
    MediaType.imageConfig,
  );
  const manifest = await store.putJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: blobs },
    MediaType.imageManifest,
  );
  await store.addManifest(manifest);
  return manifest;
}

describe('loading an image view from the store', () => {
  let store: LayoutStore;
  let image: Descriptor;

  before(async () => {
    store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-view-')), 'store'));
    await store.init();
    image = await putImage(
      store,
      [
        [
          link('bin', 'usr/bin'),
          dir('usr/'),
          dir('usr/bin/'),
          file('usr/bin/openssl', 'elf', 0o755),
          file('usr/bin/old-tool', 'old', 0o755),
          dir('var/lib/dpkg/status.d/'),
          file(
            'var/lib/dpkg/status.d/libssl3',
            'Package: libssl3\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2+b1\nArchitecture: amd64\nInstalled-Size: 6240\n',
          ),
          file('var/lib/dpkg/status.d/libssl3.md5sums', `${'0'.repeat(32)}  bin/openssl\n`),
        ],
        [file('usr/bin/.wh.old-tool', ''), file('app/server.js', 'listen()\n')],
      ],
      { 'dev.herd.lock.digest': sha256Digest(lockText) },
    );
  });

  it('applies the layers, whiteouts included, and keeps the config', async () => {
    const view = await loadImageView(store, image.digest);

    assert.equal(view.digest, image.digest);
    assert.equal(view.config.config.User, '65532:65532');
    assert.ok(view.files.has('/app/server.js'));
    assert.ok(!view.files.has('/usr/bin/old-tool'));
    assert.equal(view.files.get('/usr/bin/openssl')?.data?.toString(), 'elf');
  });

  it('reads packages from status.d, with their source, and which files each one owns', async () => {
    const view = await loadImageView(store, image.digest);

    assert.deepEqual(view.packages, [
      {
        name: 'libssl3',
        version: '3.0.11-1~deb12u2+b1',
        architecture: 'amd64',
        source: 'openssl',
        sourceVersion: '3.0.11-1~deb12u2',
        installedSizeKiB: 6240,
        recordPath: '/var/lib/dpkg/status.d/libssl3',
      },
    ]);
    assert.equal(
      view.owners.get('/usr/bin/openssl'),
      'libssl3',
      'bin/openssl is /usr/bin/openssl under merged /usr',
    );
    assert.equal(view.owners.get('/app/server.js'), undefined);
  });

  it('reports the file manifest as missing when none is attached', async () => {
    assert.deepEqual((await loadImageView(store, image.digest)).fileManifest, { kind: 'missing' });
  });

  it('takes the suites from the lock when the lock is the one the image names', async () => {
    const lockedImage = await putImage(
      store,
      [
        [
          file(
            'var/lib/dpkg/status.d/libssl3',
            'Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n',
          ),
        ],
      ],
      {
        'dev.herd.lock.digest': sha256Digest(lockText),
      },
    );

    const view = await loadImageView(store, lockedImage.digest, { lockFile: lockText });

    assert.equal(view.packages[0]?.suite, 'bookworm');
    assert.deepEqual(view.lock?.suites, [{ suite: 'bookworm', signer: 'ABCDEF0123456789' }]);
  });

  it('refuses a lock that is not the one the image was built from', async () => {
    await assert.rejects(loadImageView(store, image.digest, { lockFile: `${lockText} ` }), {
      code: 'LOCK_MISMATCH',
    });
  });

  it('says an unknown digest is unknown, naming it', async () => {
    const unknown = sha256Digest('no such image');

    await assert.rejects(loadImageView(store, unknown), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'IMAGE_UNKNOWN');
      assert.ok(error.message.includes(unknown));
      return true;
    });
    await assert.rejects(loadImageView(store, 'sha256:../../etc/passwd'), { code: 'IMAGE_UNKNOWN' });
  });

  it('reads the same view through the flattened-layer cache, with the bytes of only the files the rules read', async () => {
    const home = await mkdtemp(join(tmpdir(), 'herd-gate-cache-'));
    const layerCache = gateLayerCache(herdHome({ HERD_HOME: home }));
    const held = await loadImageView(store, image.digest);

    const cold = await loadImageView(store, image.digest, { layerCache });
    const warm = await loadImageView(store, image.digest, { layerCache });

    for (const view of [cold, warm]) {
      assert.deepEqual([...view.files.keys()], [...held.files.keys()]);
      assert.deepEqual(view.packages, held.packages);
      assert.deepEqual([...view.owners], [...held.owners]);
      assert.equal(view.files.get('/usr/bin/openssl')?.data, undefined, 'not a file the rules read');
      assert.ok(view.files.get('/var/lib/dpkg/status.d/libssl3')?.data);
      const server = view.files.get('/app/server.js');
      assert.ok(server);
      assert.equal((await view.contents.read(server)).toString(), 'listen()\n');
    }
    await layerCache.close();
  });

  it('fails with CACHE_TAMPERED naming the file when its cached bytes were changed', async () => {
    const home = herdHome({ HERD_HOME: await mkdtemp(join(tmpdir(), 'herd-gate-cache-')) });
    const layerCache = gateLayerCache(home);
    await loadImageView(store, image.digest, { layerCache });
    for (const name of await readdir(home.flattenedLayerCache)) {
      if (!name.endsWith('.content')) continue;
      const path = join(home.flattenedLayerCache, name);
      await writeFile(path, (await readFile(path, 'utf8')).replace('Package: libssl3', 'Package: libssl4'));
    }

    await assert.rejects(
      loadImageView(store, image.digest, { layerCache }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'CACHE_TAMPERED');
        assert.match(error.message, /\/var\/lib\/dpkg\/status\.d\/libssl3 in layer sha256:[0-9a-f]{64}/);
        return true;
      },
    );
  });

  it('refuses an artifact where an image is expected', async () => {
    const artifact = await attachArtifact(store, image, {
      artifactType: 'application/vnd.example+json',
      data: Buffer.from('{}'),
    });

    await assert.rejects(loadImageView(store, artifact.digest), { code: 'IMAGE_INVALID' });
  });
});

describe('layers the build would refuse', () => {
  const hostile: [string, TarEntry[][], string][] = [
    [
      'an entry under a symlink',
      [[link('lib', '/etc')], [file('lib/cron.d/evil', '* * * * * root sh\n')]],
      'lies under /lib, which is a symlink',
    ],
    [
      'a symlink that climbs above the root',
      [[dir('etc/'), link('etc/evil', '../../host')]],
      'climbs above the root',
    ],
    [
      'a whiteout that names nothing',
      [[dir('etc/'), file('etc/motd', 'hi\n')], [file('etc/.wh.', '')]],
      'is a whiteout that names no file',
    ],
  ];
  for (const [what, layers, why] of hostile) {
    it(`refuses ${what} as LAYER_INVALID, naming the layer digest and the entry`, async () => {
      const store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-hostile-')), 'store'));
      await store.init();
      const image = await putImage(store, layers);
      const manifest = await store.getManifest(image.digest as Digest);
      const culprit = manifest.layers.at(-1)?.digest ?? '';
      const path = layers.at(-1)?.at(-1)?.path ?? '';

      await assert.rejects(loadImageView(store, image.digest), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'LAYER_INVALID');
        assert.ok(
          error.message.startsWith(`layer ${culprit}: entry ${JSON.stringify(path)} `),
          error.message,
        );
        assert.ok(error.message.includes(why), error.message);
        return true;
      });
    });
  }
});

describe('a layer tar the reader refuses', () => {
  it('is LAYER_INVALID naming the layer digest and the entry, not a bare tar error', async () => {
    const store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-tar-')), 'store'));
    await store.init();
    // A `0` file named like a folder: GNU tar makes a folder of it, podman's unpacker a file.
    const image = await putImage(store, [[dir('usr/'), file('usr/bin/evil/', '')]]);
    const culprit = (await store.getManifest(image.digest as Digest)).layers[0]?.digest ?? '';

    await assert.rejects(loadImageView(store, image.digest), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'LAYER_INVALID');
      assert.ok(
        error.message.startsWith(`layer ${culprit}: tar entry usr/bin/evil/ at offset`),
        error.message,
      );
      return true;
    });
  });
});

describe('a dpkg database the build would refuse', () => {
  const hostile: [string, Parameters<typeof memoryImageView>[0], string][] = [
    [
      'a version that climbs out of a path',
      { packages: [{ name: 'evil', version: '1.0/../../x' }] },
      '/var/lib/dpkg/status.d/evil',
    ],
    [
      'an invalid architecture',
      { packages: [{ name: 'evil', architecture: 'AMD 64' }] },
      '/var/lib/dpkg/status.d/evil',
    ],
    [
      'a package listed in status.d and again in status',
      {
        packages: [{ name: 'bash', version: '5.2-1' }],
        files: [
          {
            path: '/var/lib/dpkg/status',
            content: 'Package: bash\nStatus: install ok installed\nVersion: 5.1-1\nArchitecture: amd64\n',
          },
        ],
      },
      '/var/lib/dpkg/status',
    ],
  ];
  for (const [what, image, record] of hostile) {
    it(`refuses ${what} as IMAGE_INVALID, naming the record`, () => {
      assert.throws(
        () => memoryImageView(image),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'IMAGE_INVALID');
          assert.ok(error.message.includes(record), error.message);
          return true;
        },
      );
    });
  }
});

describe('the attached file manifest', () => {
  it('is read from the referrer whose manifest names the image as subject', async () => {
    const store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-fm-')), 'store'));
    await store.init();
    const image = await putImage(store, [[file('etc/motd', 'hi\n')]]);
    const entries = [{ path: '/etc/motd', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, sha256: 'ab' }];
    await attachArtifact(store, image, {
      artifactType: fileManifestArtifactType,
      data: Buffer.from(compactJson({ schemaVersion: 1, mediaType: fileManifestArtifactType, entries })),
    });

    const view = await loadImageView(store, image.digest);

    assert.equal(view.fileManifest.kind, 'attached');
    assert.deepEqual(view.fileManifest.kind === 'attached' ? view.fileManifest.entries : [], entries);
  });

  it("is refused when the referrers index lists another image's manifest for this one", async () => {
    const store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-fm-')), 'store'));
    await store.init();
    const image = await putImage(store, [[file('etc/motd', 'hi\n')]]);
    const other = await putImage(store, [[file('etc/motd', 'other\n')]]);
    const theirs = await attachArtifact(store, other, {
      artifactType: fileManifestArtifactType,
      data: Buffer.from(compactJson({ schemaVersion: 1, entries: [] })),
    });
    await store.addReferrer(image.digest as Digest, theirs);

    await assert.rejects(loadImageView(store, image.digest), { code: 'FILE_MANIFEST_INVALID' });
  });
});
