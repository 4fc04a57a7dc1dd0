/**
 * `herd serve`'s read-only OCI distribution endpoint. The same assertions run in-process through
 * `app.request()` and against the real Node server on 127.0.0.1; then skopeo, which no one here
 * wrote, inspects and copies from the real server.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { attachArtifact } from '../src/oci/attach-artifact.js';
import { hexOf, sha256Digest } from '../src/oci/digest.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import { writeTar } from '../src/oci/tar.js';
import {
  type Digest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
} from '../src/oci/types.js';
import { createApp } from '../src/server/app.js';
import { type RunningServer, startServer } from '../src/server/node-server.js';

interface TestImage {
  store: LayoutStore;
  digest: Digest;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  referrer: Digest;
}

const fileManifestType = 'application/vnd.herd.file-manifest+json';

/** Config, one gzip layer, a cosign-style `.sig` ref name and one referrer, written by hand. */
async function writeTestImage(root: string): Promise<TestImage> {
  const store = new LayoutStore(root);
  await store.init();
  const text = Buffer.from('hello\n');
  const tar = writeTar([
    {
      path: 'etc/hello.txt',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: text.length,
      mtime: 0,
      data: text,
    },
  ]);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers: [await store.putBlob(gzipSync(tar), MediaType.layerGzip)],
  };
  const image = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(image, { refName: 'hello:v1' });
  const signature = await store.putJson(
    {
      ...manifest,
      layers: [await store.putBlob(Buffer.from('{}'), 'application/vnd.dev.cosign.simplesigning.v1+json')],
    },
    MediaType.imageManifest,
  );
  await store.addManifest(signature, { refName: `sha256-${hexOf(image.digest)}.sig` });
  const referrer = await attachArtifact(store, image, {
    artifactType: fileManifestType,
    data: Buffer.from('{"entries":[]}'),
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  });
  return {
    store,
    digest: image.digest,
    manifest,
    manifestBytes: await store.getBlob(image.digest),
    referrer: referrer.digest,
  };
}

type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

function inProcess(app: () => ReturnType<typeof createApp>): Fetcher {
  return async (path, init) => app().request(path, init);
}

function overHttp(server: () => RunningServer): Fetcher {
  return (path, init) => fetch(`${server().url}${path}`, init);
}

async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

/** Runs skopeo without blocking: the server it talks to lives in this process. */
async function skopeo(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  if (spawnSync('sh', ['-c', 'command -v skopeo']).status !== 0) {
    assert.fail('skopeo is missing: install skopeo (apt-get install skopeo)');
  }
  return new Promise((resolve) => {
    execFile('skopeo', args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      resolve({ status: error ? (typeof code === 'number' ? code : -1) : 0, stdout, stderr });
    });
  });
}

describe('herd serve /v2/', () => {
  let work: string;
  let image: TestImage;
  let tampered: TestImage;
  let app: ReturnType<typeof createApp>;
  let tamperedApp: ReturnType<typeof createApp>;
  let server: RunningServer;
  let tamperedServer: RunningServer;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-serve-v2-'));
    image = await writeTestImage(join(work, 'store'));
    tampered = await writeTestImage(join(work, 'tampered'));
    const layer = tampered.manifest.layers[0]?.digest as Digest;
    const bytes = await readFile(tampered.store.blobPath(layer));
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff;
    await writeFile(tampered.store.blobPath(layer), bytes);
    app = createApp({ store: image.store });
    tamperedApp = createApp({ store: tampered.store });
    server = await startServer({ app, port: 0 });
    tamperedServer = await startServer({ app: tamperedApp, port: 0 });
  });

  after(async () => {
    await server?.close();
    await tamperedServer?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const modes: [string, Fetcher, Fetcher][] = [
    ['in-process', inProcess(() => app), inProcess(() => tamperedApp)],
    ['over HTTP on 127.0.0.1', overHttp(() => server), overHttp(() => tamperedServer)],
  ];
  for (const [mode, request, requestTampered] of modes) {
    describe(mode, () => {
      it('answers GET /v2/ with {} and the API version header', async () => {
        const response = await request('/v2/');

        assert.equal(response.status, 200);
        assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
        assert.deepEqual(await response.json(), {});
      });

      it('serves a manifest by tag with its media type, digest and length', async () => {
        const response = await request('/v2/hello/manifests/v1');

        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), MediaType.imageManifest);
        assert.equal(response.headers.get('docker-content-digest'), image.digest);
        assert.equal(response.headers.get('content-length'), String(image.manifestBytes.length));
        assert.deepEqual(Buffer.from(await response.arrayBuffer()), image.manifestBytes);
      });

      it('answers HEAD on a manifest with the same headers and no body', async () => {
        const response = await request('/v2/hello/manifests/v1', { method: 'HEAD' });

        assert.equal(response.status, 200);
        assert.equal(response.headers.get('docker-content-digest'), image.digest);
        assert.equal(response.headers.get('content-length'), String(image.manifestBytes.length));
        assert.equal((await response.arrayBuffer()).byteLength, 0);
      });

      it('serves a manifest by digest under a repository name with slashes', async () => {
        const response = await request(`/v2/team/apps/hello/manifests/${image.digest}`);

        assert.equal(response.status, 200);
        assert.equal(sha256Digest(Buffer.from(await response.arrayBuffer())), image.digest);
      });

      it('serves blobs, verified, with their digest and length, and answers HEAD', async () => {
        const layer = image.manifest.layers[0] as ImageManifest['layers'][number];

        const response = await request(`/v2/hello/blobs/${layer.digest}`);
        const head = await request(`/v2/hello/blobs/${layer.digest}`, { method: 'HEAD' });

        assert.equal(response.status, 200);
        assert.equal(sha256Digest(Buffer.from(await response.arrayBuffer())), layer.digest);
        assert.equal(response.headers.get('docker-content-digest'), layer.digest);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(layer.size));
      });

      it('lists the tags of the store', async () => {
        const response = await request('/v2/hello/tags/list');

        assert.deepEqual(await response.json(), {
          name: 'hello',
          tags: [`sha256-${hexOf(image.digest)}.sig`, 'v1'],
        });
      });

      it('lists referrers as an OCI 1.1 image index, filtered by artifactType on request', async () => {
        const all = await request(`/v2/hello/referrers/${image.digest}`);
        const none = await request(
          `/v2/hello/referrers/${image.digest}?artifactType=application/spdx%2Bjson`,
        );

        assert.equal(all.status, 200);
        assert.equal(all.headers.get('content-type'), MediaType.imageIndex);
        const index = (await all.json()) as ImageIndex;
        assert.deepEqual(index.manifests, [
          {
            mediaType: MediaType.imageManifest,
            digest: image.referrer,
            size: index.manifests[0]?.size,
            artifactType: fileManifestType,
            annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
          },
        ]);
        assert.equal(none.headers.get('oci-filters-applied'), 'artifactType');
        assert.deepEqual(((await none.json()) as ImageIndex).manifests, []);
      });

      it('answers unknown manifests, blobs and bad digests with the spec error codes', async () => {
        const missing = `sha256:${'0'.repeat(64)}`;

        const manifest = await request('/v2/hello/manifests/nope');
        const blob = await request(`/v2/hello/blobs/${missing}`);
        const invalid = await request('/v2/hello/blobs/sha256:xyz');
        const badName = await request('/v2/Hello/manifests/v1');

        assert.equal(manifest.status, 404);
        assert.equal(await errorCode(manifest), 'MANIFEST_UNKNOWN');
        assert.equal(blob.status, 404);
        assert.equal(await errorCode(blob), 'BLOB_UNKNOWN');
        assert.equal(invalid.status, 400);
        assert.equal(await errorCode(invalid), 'DIGEST_INVALID');
        assert.equal(badName.status, 400);
        assert.equal(await errorCode(badName), 'NAME_INVALID');
      });

      it('refuses every write with 405 UNSUPPORTED', async () => {
        for (const [method, path] of [
          ['PUT', '/v2/hello/manifests/v2'],
          ['POST', '/v2/hello/blobs/uploads/'],
          ['PATCH', '/v2/hello/blobs/uploads/1'],
          ['DELETE', `/v2/hello/manifests/${image.digest}`],
        ] as const) {
          const response = await request(path, { method, body: method === 'DELETE' ? null : '{}' });

          assert.equal(response.status, 405, `${method} ${path}`);
          assert.equal(await errorCode(response), 'UNSUPPORTED');
        }
      });

      it('does not serve a tampered blob, and says why', async () => {
        const layer = tampered.manifest.layers[0]?.digest as Digest;

        const response = await requestTampered(`/v2/hello/blobs/${layer}`);

        assert.equal(response.status, 500);
        const body = (await response.json()) as { errors: { code: string; message: string }[] };
        assert.equal(body.errors[0]?.code, 'BLOB_UNKNOWN');
        assert.match(body.errors[0]?.message ?? '', /fails verification.*tampered/);
        assert.ok(
          !(body.errors[0]?.message ?? '').includes(tampered.store.root),
          'the store path stays private',
        );
      });
    });
  }

  describe('with skopeo against the real server', () => {
    it('inspects the image with the digest herd stored', async () => {
      const inspected = await skopeo([
        'inspect',
        '--tls-verify=false',
        `docker://${new URL(server.url).host}/hello:v1`,
      ]);

      assert.equal(inspected.status, 0, inspected.stderr);
      assert.equal((JSON.parse(inspected.stdout) as { Digest: string }).Digest, image.digest);
    });

    it('copies the image into an OCI layout under any repository name, keeping its digest', async () => {
      const layout = join(work, 'copied');

      const copied = await skopeo([
        'copy',
        '--src-tls-verify=false',
        `docker://${new URL(server.url).host}/x:v1`,
        `oci:${layout}:x`,
      ]);

      assert.equal(copied.status, 0, copied.stderr);
      const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as ImageIndex;
      assert.equal(index.manifests[0]?.digest, image.digest);
    });

    it('fails to copy an image whose layer was tampered with', async () => {
      const copied = await skopeo([
        'copy',
        '--src-tls-verify=false',
        `docker://${new URL(tamperedServer.url).host}/hello:v1`,
        `oci:${join(work, 'copied-tampered')}:x`,
      ]);

      assert.notEqual(copied.status, 0);
      assert.match(copied.stderr, /500|fails verification/);
    });
  });
});
