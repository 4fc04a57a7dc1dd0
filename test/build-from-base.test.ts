/**
 * `image.from`: an image built on a base image from the catalog (or the store), against a real,
 * signed apt repository served on 127.0.0.1. The catalog is a small in-memory BaseImageSource; the
 * store, the archive and the builds are real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BaseImageSource } from '../src/builder/base-image.js';
import { artifactTypes } from '../src/builder/build-image.js';
import type { FileManifest } from '../src/builder/file-manifest.js';
import { comparePaths } from '../src/builder/image-tree.js';
import { sha256Digest } from '../src/oci/digest.js';
import type { LayoutStore } from '../src/oci/layout-store.js';
import { readTar, type TarEntry, writeTar } from '../src/oci/tar.js';
import { type Digest, type ImageConfig, type ImageManifest, MediaType } from '../src/oci/types.js';
import type { BaseImageRef } from '../src/specfile/types.js';
import { createAptRepo, type FixturePackage, type FixtureRepo } from './fixtures/apt-repo.js';
import {
  buildLocked,
  freshHome,
  type LockedBuild,
  lockAndBuild,
  lockSpec,
  openHomeStore,
  writeSpecDir,
} from './support/build-harness.js';
import { flattenLayers } from './support/layers.js';

const packages: FixturePackage[] = [
  {
    name: 'base-files',
    version: '12.4',
    preDepends: 'awk',
    files: [{ path: 'usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\n' }],
  },
  {
    name: 'libc-fake',
    version: '2.36-9',
    source: 'glibc',
    files: [{ path: 'lib/x86_64-linux-gnu/libc.so.6', content: 'libc' }],
  },
  {
    name: 'libc-fake',
    version: '2.36-9+deb12u1',
    source: 'glibc',
    suite: 'test-security',
    files: [{ path: 'lib/x86_64-linux-gnu/libc.so.6', content: 'libc, fixed' }],
  },
  {
    name: 'libgreet1',
    version: '1.1-1',
    depends: 'libc-fake',
    files: [{ path: 'usr/lib/x86_64-linux-gnu/libgreet.so.1', content: 'v1.1' }],
  },
  {
    name: 'tiny-mta',
    version: '1.0',
    provides: 'mail-transport-agent',
    files: [{ path: 'usr/sbin/sendmail', content: '#!/bin/false\n', mode: 0o755 }],
  },
  {
    name: 'hello-bin',
    version: '2.0-1',
    preDepends: 'libc-fake',
    depends: 'libgreet1 (>= 1.1), mail-transport-agent',
    // No interpreter line: the build's entrypoint check would refuse a #! naming what the image lacks.
    files: [{ path: 'bin/hello', content: 'hello\n', mode: 0o755 }],
  },
];

const suites = [{ name: 'test' }, { name: 'test-security' }];

function specText(repo: FixtureRepo, fields: { service: string; from?: string; packages: string[] }): string {
  // A base without hello has no entrypoint: the build refuses one that is not in the image.
  const hasHello = fields.packages.some((name) => name.startsWith('hello-bin'));
  return `apiVersion: herd/v1
service: ${fields.service}
image:
${fields.from ? `  from: "${fields.from}"\n` : ''}  suite: bookworm
  repositories:
    - uri: ${repo.uri}
      suites: [test, test-security]
      keyring: ${repo.keyringPath}
  packages: [${fields.packages.join(', ')}]
files:
  - src: app.txt
    dst: /app/app.txt
run:
${fields.from ? '  user: { name: web, uid: 1000 }\n' : ''}  workdir: /app
${hasHello ? '  entrypoint: [/usr/bin/hello]\n' : ''}`;
}

/** The catalog, as far as a build sees it: `service@stage` → digest, and digests it knows. */
class MemoryBaseSource implements BaseImageSource {
  readonly releases = new Map<string, Digest>();

  async resolve(ref: BaseImageRef): Promise<{ digest: Digest } | undefined> {
    switch (ref.kind) {
      case 'release': {
        const digest = this.releases.get(`${ref.service}@${ref.stage}`);
        return digest ? { digest } : undefined;
      }
      case 'digest':
        return { digest: ref.digest };
    }
  }
}

async function configOf(store: LayoutStore, digest: Digest): Promise<ImageConfig> {
  return store.getJson<ImageConfig>((await store.getManifest(digest)).config.digest);
}

async function fileManifestOf(built: LockedBuild): Promise<FileManifest> {
  const [referrer] = await built.store.referrers(built.image.digest, {
    artifactType: artifactTypes.fileManifest,
  });
  assert.ok(referrer, 'file manifest referrer');
  const artifact = await built.store.getManifest(referrer.digest);
  return built.store.getJson<FileManifest>(artifact.layers[0]!.digest);
}

async function sbomOf<T>(built: LockedBuild, artifactType: string): Promise<T> {
  const [referrer] = await built.store.referrers(built.image.digest, { artifactType });
  assert.ok(referrer, artifactType);
  const artifact = await built.store.getManifest(referrer.digest);
  return built.store.getJson<T>(artifact.layers[0]!.digest);
}

/** Paths in the image's layers after the first `skip`, i.e. in the layers herd added. */
async function pathsInLayers(built: LockedBuild, skip: number): Promise<string[]> {
  const manifest = await built.store.getManifest(built.image.digest);
  const paths: string[] = [];
  for (const layer of manifest.layers.slice(skip)) {
    const tar = gunzipSync(await built.store.getBlob(layer.digest));
    paths.push(...readTar(tar).map((entry) => `/${entry.path.replace(/\/$/, '')}`));
  }
  return paths;
}

/** An OCI image that herd did not build: no dpkg database, no history, and whiteouts in its layers. */
async function putForeignImage(store: LayoutStore, layers: TarEntry[][]): Promise<Digest> {
  const tars = layers.map((entries) => writeTar(entries));
  const descriptors = [];
  for (const tar of tars) descriptors.push(await store.putBlob(gzipSync(tar), MediaType.layerGzip));
  const config = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: tars.map((tar) => sha256Digest(tar)) },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers: descriptors,
  };
  const descriptor = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(descriptor);
  return descriptor.digest;
}

const dir = (path: string): TarEntry => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
});
const file = (path: string, content: string): TarEntry => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: Buffer.byteLength(content),
  mtime: 0,
  data: Buffer.from(content),
});

describe('herd build from a catalog base image', () => {
  let repo: FixtureRepo;
  let home: string;
  let source: MemoryBaseSource;
  let base: LockedBuild;
  let app: LockedBuild;
  let appDir: string;

  before(async () => {
    repo = await createAptRepo({ dir: await freshHome('herd-repo-'), suites, packages });
    home = await freshHome();
    const baseDir = await writeSpecDir({
      'app.txt': 'base\n',
      'herd.yaml': specText(repo, { service: 'base', packages: ['libc-fake=2.36-9'] }),
    });
    base = await lockAndBuild(baseDir, { home });
    source = new MemoryBaseSource();
    source.releases.set('base@production', base.image.digest);
    appDir = await writeSpecDir({
      'app.txt': 'app data\n',
      'herd.yaml': specText(repo, { service: 'greeter', from: 'base', packages: ['hello-bin'] }),
    });
    app = await lockAndBuild(appDir, { home, baseSource: source });
  });

  after(async () => {
    await repo?.close();
  });

  it("pins the base's digest in the lock and locks only the packages the base lacks", () => {
    assert.equal(app.lock.base?.ref, 'base@production');
    assert.equal(app.lock.base?.digest, base.image.digest);
    assert.equal(app.lock.base?.packages, 2);
    assert.deepEqual(
      app.lock.packages.map((p) => p.name),
      ['hello-bin', 'libgreet1', 'tiny-mta'],
    );
  });

  it("keeps the base's libc-fake and reports the archive's newer one as held, not taken", async () => {
    const files = await flattenLayers(app.store, app.image.digest);

    assert.deepEqual(app.lock.base?.held, [
      { name: 'libc-fake', version: '2.36-9', available: '2.36-9+deb12u1', suite: 'test-security' },
    ]);
    assert.equal(
      files.get('/usr/lib/x86_64-linux-gnu/libc.so.6')?.sha256,
      sha256Digest('libc').slice('sha256:'.length),
    );
  });

  it("starts with the base's layers and diff_ids, unchanged and in order", async () => {
    const baseManifest = await base.store.getManifest(base.image.digest);
    const appManifest = await app.store.getManifest(app.image.digest);
    const baseConfig = await configOf(base.store, base.image.digest);
    const appConfig = await configOf(app.store, app.image.digest);
    const baseCount = baseManifest.layers.length;

    assert.deepEqual(appManifest.layers.slice(0, baseCount), baseManifest.layers);
    assert.ok(appManifest.layers.length > baseCount);
    assert.deepEqual(appConfig.rootfs.diff_ids.slice(0, baseCount), baseConfig.rootfs.diff_ids);
    assert.deepEqual(appConfig.history?.slice(0, baseCount), baseConfig.history);
    assert.equal(appConfig.history?.length, appManifest.layers.length);
  });

  it('names the base in the labels and the manifest annotations', async () => {
    const manifest = await app.store.getManifest(app.image.digest);
    const config = await configOf(app.store, app.image.digest);

    for (const annotations of [manifest.annotations, config.config.Labels]) {
      assert.equal(annotations?.['org.opencontainers.image.base.name'], 'base@production');
      assert.equal(annotations?.['org.opencontainers.image.base.digest'], base.image.digest);
    }
  });

  it('does not add the base packages again, yet lists them in the file manifest and the SBOMs', async () => {
    const baseCount = (await base.store.getManifest(base.image.digest)).layers.length;
    const added = await pathsInLayers(app, baseCount);
    const manifest = await fileManifestOf(app);
    const spdx = await sbomOf<{ packages: { name: string }[] }>(app, artifactTypes.spdx);
    const cyclonedx = await sbomOf<{
      components: { name: string; properties: { name: string; value: string }[] }[];
    }>(app, artifactTypes.cyclonedx);

    assert.ok(
      !added.some((path) => path.includes('libc-fake') || path.endsWith('libc.so.6')),
      added.join('\n'),
    );
    assert.ok(added.includes('/var/lib/dpkg/status.d/hello-bin'));
    assert.ok(manifest.entries.some((entry) => entry.path === '/var/lib/dpkg/status.d/libc-fake'));
    assert.ok(manifest.entries.some((entry) => entry.path === '/usr/lib/x86_64-linux-gnu/libc.so.6'));
    for (const name of ['base-files', 'libc-fake', 'hello-bin']) {
      assert.ok(
        spdx.packages.some((p) => p.name === name),
        `SPDX lists ${name}`,
      );
    }
    const libc = cyclonedx.components.find((c) => c.name === 'libc-fake');
    assert.deepEqual(
      libc?.properties.find((p) => p.name === 'herd:base'),
      { name: 'herd:base', value: base.image.digest },
    );
  });

  it('attaches a file manifest that equals the flattened layers', async () => {
    const files = await flattenLayers(app.store, app.image.digest);
    const manifest = await fileManifestOf(app);

    assert.deepEqual(
      manifest.entries,
      [...files.values()].sort((a, b) => comparePaths(a.path, b.path)),
    );
  });

  it("adds the spec's user to the base's accounts", async () => {
    const files = await flattenLayers(app.store, app.image.digest);
    const added = await pathsInLayers(app, (await base.store.getManifest(base.image.digest)).layers.length);

    assert.ok(files.has('/home/web'));
    assert.ok(added.includes('/etc/passwd'));
    assert.equal((await configOf(app.store, app.image.digest)).config.User, '1000:1000');
  });

  it('gives the same digest again in a fresh HERD_HOME with the same base', async () => {
    const otherHome = await freshHome();
    const baseAgain = await lockAndBuild(base.loaded.dir, { home: otherHome });
    const otherSource = new MemoryBaseSource();
    otherSource.releases.set('base@production', baseAgain.image.digest);

    const again = await lockAndBuild(appDir, { home: otherHome, baseSource: otherSource });

    assert.equal(baseAgain.image.digest, base.image.digest);
    assert.equal(again.image.digest, app.image.digest);
  });

  it('builds from the pinned digest, whatever the catalog says since', async () => {
    const locked = await lockSpec(appDir, { store: app.store, baseSource: source });
    source.releases.set('base@production', `sha256:${'0'.repeat(64)}`);

    try {
      const rebuilt = await buildLocked(locked, { home, store: app.store });

      assert.equal(rebuilt.image.digest, app.image.digest);
    } finally {
      source.releases.set('base@production', base.image.digest);
    }
  });

  it('refuses an unknown base reference with BASE_NOT_FOUND, naming it', async () => {
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, { service: 'greeter', from: 'nosuch@accepted', packages: ['hello-bin'] }),
    });

    await assert.rejects(
      lockSpec(dir, { store: app.store, baseSource: source }),
      (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'BASE_NOT_FOUND');
        assert.match(error.message ?? '', /nosuch@accepted/);
        return true;
      },
    );
  });

  it('refuses a base digest that is not in the store, naming the digest', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, { service: 'greeter', from: missing, packages: ['hello-bin'] }),
    });

    await assert.rejects(
      lockSpec(dir, { store: app.store, baseSource: source }),
      (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'BASE_NOT_FOUND');
        assert.ok(error.message?.includes(missing), error.message);
        return true;
      },
    );
  });

  it('refuses to build when the pinned base is not in the store, and adds nothing to it', async () => {
    const emptyHome = await freshHome();
    const store = await openHomeStore(emptyHome);

    await assert.rejects(
      buildLocked({ loaded: app.loaded, lock: app.lock }, { home: emptyHome, store }),
      (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'BASE_NOT_FOUND');
        assert.ok(error.message?.includes(base.image.digest), error.message);
        return true;
      },
    );
    assert.deepEqual((await store.readIndex()).manifests, []);
  });

  it('refuses a pin of a base package to a version other than the base has', async () => {
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, {
        service: 'greeter',
        from: 'base',
        packages: ['hello-bin', 'libc-fake=2.36-9+deb12u1'],
      }),
    });

    await assert.rejects(
      lockSpec(dir, { store: app.store, baseSource: source }),
      (error: { code?: string }) => error.code === 'PACKAGE_CONFLICT',
    );
  });

  it('builds on an image herd did not build: whiteouts applied, no packages, history made up', async () => {
    const foreign = await putForeignImage(app.store, [
      [
        dir('etc/'),
        file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
        file('etc/group', 'root:x:0:\n'),
        dir('opt/'),
        dir('opt/old/'),
        file('opt/old/junk', 'junk'),
        dir('var/'),
        dir('var/cache/'),
        file('var/cache/a', 'a'),
      ],
      [file('opt/.wh.old', ''), file('var/cache/.wh..wh..opq', ''), file('var/cache/b', 'b')],
    ]);
    const dir2 = await writeSpecDir({
      'app.txt': 'app data\n',
      'herd.yaml': specText(repo, { service: 'greeter', from: foreign, packages: ['hello-bin'] }),
    });

    const built = await lockAndBuild(dir2, { home, baseSource: source });
    const files = await flattenLayers(built.store, built.image.digest);
    const manifest = await fileManifestOf(built);
    const config = await configOf(built.store, built.image.digest);

    assert.equal(built.lock.base?.packages, 0);
    assert.ok(built.lock.packages.some((p) => p.name === 'libc-fake'));
    assert.ok(!files.has('/opt/old') && !files.has('/var/cache/a'));
    assert.ok(files.has('/var/cache/b'));
    assert.equal(
      files.get('/etc/passwd')?.sha256,
      sha256Digest(
        'root:x:0:0:root:/root:/bin/sh\n' +
          'nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n' +
          'web:x:1000:1000:web:/home/web:/usr/sbin/nologin\n',
      ).slice('sha256:'.length),
    );
    assert.deepEqual(
      manifest.entries,
      [...files.values()].sort((a, b) => comparePaths(a.path, b.path)),
    );
    assert.equal(config.history?.length, (await built.store.getManifest(built.image.digest)).layers.length);
  });
});
