import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { exportDockerArchive, exportOciArchive } from './archive-export.js';
import { hexOf, sha256Digest } from './digest.js';
import { OciError } from './errors.js';
import { LayoutStore } from './layout-store.js';
import { readTar, type TarEntry, type TarReadEntry, writeTar } from './tar.js';
import { type Digest, type ImageConfig, type ImageIndex, type ImageManifest, MediaType } from './types.js';

const run = promisify(execFile);
const skopeo = '/usr/bin/skopeo';

interface TinyImage {
  store: LayoutStore;
  digest: Digest;
  manifest: ImageManifest;
  diffId: Digest;
}

/** One gzip layer holding /app/hello.txt, a config naming its diff_id, and a manifest, written by hand. */
async function writeTinyImage(root: string, options: { diffId?: Digest } = {}): Promise<TinyImage> {
  const store = new LayoutStore(root);
  await store.init();
  const text = Buffer.from('hello\n');
  const entries: TarEntry[] = [
    { path: 'app', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 },
    {
      path: 'app/hello.txt',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: text.length,
      mtime: 0,
      data: text,
    },
  ];
  const tar = writeTar(entries);
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const diffId = options.diffId ?? sha256Digest(tar);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/app/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const configDescriptor = await store.putJson(config, MediaType.imageConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDescriptor,
    layers: [layer],
  };
  const descriptor = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(descriptor, { refName: 'hello:latest' });
  return { store, digest: descriptor.digest, manifest, diffId };
}

function filesByPath(archive: Buffer): Map<string, TarReadEntry> {
  return new Map(readTar(archive).map((entry) => [entry.path.replace(/\/$/, ''), entry]));
}

function fileText(files: Map<string, TarReadEntry>, path: string): string {
  const data = files.get(path)?.data;
  assert.ok(data, `${path} is in the archive`);
  return data.toString('utf8');
}

async function requireSkopeo(): Promise<void> {
  try {
    await access(skopeo);
  } catch {
    assert.fail(`${skopeo} is missing: install skopeo (apt-get install skopeo) to check exported archives`);
  }
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof OciError && error.code === code);
}

describe('exportOciArchive', () => {
  let root: string;
  let image: TinyImage;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-archive-export-'));
    image = await writeTinyImage(join(root, 'store'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes an image layout whose index names the one manifest by ref name', async () => {
    const archive = await exportOciArchive(image.store, image.digest, { refName: 'hello:latest' });

    const files = filesByPath(archive);
    const index = JSON.parse(fileText(files, 'index.json')) as ImageIndex;

    assert.deepEqual(JSON.parse(fileText(files, 'oci-layout')), { imageLayoutVersion: '1.0.0' });
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]?.digest, image.digest);
    assert.equal(index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'], 'hello:latest');
  });

  it("holds only the image's blobs, each named by the sha256 of its bytes", async () => {
    const archive = await exportOciArchive(image.store, image.digest, { refName: 'hello:latest' });

    const blobs = readTar(archive).filter(
      (entry) => entry.type === 'file' && entry.path.startsWith('blobs/'),
    );
    const expected = [
      image.digest,
      image.manifest.config.digest,
      ...image.manifest.layers.map((l) => l.digest),
    ];

    assert.deepEqual(blobs.map((b) => b.path).sort(), expected.map((d) => `blobs/sha256/${hexOf(d)}`).sort());
    for (const blob of blobs)
      assert.equal(hexOf(sha256Digest(blob.data ?? Buffer.alloc(0))), blob.path.slice(13));
  });

  it('writes sorted entries with mtime 0 and gives the same bytes twice', async () => {
    const first = await exportOciArchive(image.store, image.digest, { refName: 'hello:latest' });
    const second = await exportOciArchive(image.store, image.digest, { refName: 'hello:latest' });

    const paths = readTar(first).map((e) => e.path.replace(/\/$/, ''));

    assert.ok(first.equals(second));
    assert.deepEqual(paths, [...paths].sort());
    assert.ok(readTar(first).every((e) => e.mtime === 0 && e.uid === 0 && e.gid === 0));
  });

  it('is read by skopeo as the same image', async () => {
    await requireSkopeo();
    const archive = await exportOciArchive(image.store, image.digest, { refName: 'hello:latest' });
    const file = join(root, 'hello.oci.tar');
    await writeFile(file, archive);

    const { stdout } = await run(skopeo, ['inspect', `oci-archive:${file}`]);
    const inspected = JSON.parse(stdout) as { Digest: string; Architecture: string; Layers: string[] };

    assert.equal(inspected.Digest, image.digest);
    assert.equal(inspected.Architecture, 'amd64');
    assert.deepEqual(
      inspected.Layers,
      image.manifest.layers.map((l) => l.digest),
    );
  });
});

describe('exportDockerArchive', () => {
  let root: string;
  let image: TinyImage;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-archive-export-'));
    image = await writeTinyImage(join(root, 'store'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes manifest.json naming the config, the tag and each layer by diff_id', async () => {
    const archive = await exportDockerArchive(image.store, image.digest, { repoTag: 'hello:latest' });

    const files = filesByPath(archive);
    const manifest = JSON.parse(fileText(files, 'manifest.json'));
    const configHex = hexOf(image.manifest.config.digest);

    assert.deepEqual(manifest, [
      {
        Config: `${configHex}.json`,
        RepoTags: ['hello:latest'],
        Layers: [`${hexOf(image.diffId)}/layer.tar`],
      },
    ]);
    assert.equal(sha256Digest(files.get(`${configHex}.json`)?.data ?? ''), image.manifest.config.digest);
  });

  it('stores each layer uncompressed, hashing to its diff_id', async () => {
    const archive = await exportDockerArchive(image.store, image.digest, { repoTag: 'hello:latest' });

    const layer = filesByPath(archive).get(`${hexOf(image.diffId)}/layer.tar`);
    const inner = readTar(layer?.data ?? Buffer.alloc(0));

    assert.equal(sha256Digest(layer?.data ?? ''), image.diffId);
    assert.deepEqual(
      inner.map((e) => e.path),
      ['app/', 'app/hello.txt'],
    );
  });

  it('writes the legacy repositories file pointing the tag at the top layer', async () => {
    const archive = await exportDockerArchive(image.store, image.digest, { repoTag: 'hello:latest' });

    const repositories = JSON.parse(fileText(filesByPath(archive), 'repositories'));

    assert.deepEqual(repositories, { hello: { latest: hexOf(image.diffId) } });
  });

  it('is read by skopeo with the layers named by diff_id', async () => {
    await requireSkopeo();
    const archive = await exportDockerArchive(image.store, image.digest, { repoTag: 'hello:latest' });
    const file = join(root, 'hello.docker.tar');
    await writeFile(file, archive);

    const { stdout } = await run(skopeo, ['inspect', `docker-archive:${file}`]);
    const inspected = JSON.parse(stdout) as { Architecture: string; Layers: string[] };

    assert.equal(inspected.Architecture, 'amd64');
    assert.deepEqual(inspected.Layers, [image.diffId]);
  });
});

describe('exporting a tampered image', () => {
  let root: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-archive-export-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('fails with DIGEST_MISMATCH in both formats when a layer blob was changed on disk', async () => {
    const image = await writeTinyImage(join(root, 'layer'));
    const layer = image.manifest.layers[0];
    assert.ok(layer);
    await writeFile(image.store.blobPath(layer.digest), gzipSync(Buffer.from('not the layer')));

    await rejectsWithCode(
      exportOciArchive(image.store, image.digest, { refName: 'hello:latest' }),
      'DIGEST_MISMATCH',
    );
    await rejectsWithCode(
      exportDockerArchive(image.store, image.digest, { repoTag: 'hello:latest' }),
      'DIGEST_MISMATCH',
    );
  });

  it('fails with DIGEST_MISMATCH naming the layer when it does not uncompress to its diff_id', async () => {
    const image = await writeTinyImage(join(root, 'diff-id'), { diffId: sha256Digest('another tar') });
    const layer = image.manifest.layers[0];
    assert.ok(layer);

    await assert.rejects(
      exportDockerArchive(image.store, image.digest, { repoTag: 'hello:latest' }),
      (error: unknown) =>
        error instanceof OciError && error.code === 'DIGEST_MISMATCH' && error.message.includes(layer.digest),
    );
  });
});
