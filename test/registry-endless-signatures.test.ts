/**
 * Endless data from a registry's cosign tags: anyone who can push to the repository adds a `.sig`
 * naming more layers than cosign would read, or a layer far larger than a signature. The attacker
 * writes to the real registry (distribution) over plain HTTP, not through herd; herd's pull and
 * push must refuse before fetching any of it, and leave the store as it was.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { hexOf, sha256Digest } from '../src/oci/digest.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import { cosignManifestLimits } from '../src/oci/registry/cosign-tags.js';
import { maxManifestBytes } from '../src/oci/registry/distribution-client.js';
import { RegistryError } from '../src/oci/registry/errors.js';
import { pullImage, referrerLimits } from '../src/oci/registry/pull-image.js';
import { pushImage } from '../src/oci/registry/push-image.js';
import { writeTar } from '../src/oci/tar.js';
import { type Digest, type ImageConfig, MediaType } from '../src/oci/types.js';
import { startDockerRegistry, type TestRegistry } from './support/docker-registry.js';

const simpleSigning = 'application/vnd.dev.cosign.simplesigning.v1+json';

async function writeImage(root: string): Promise<{ store: LayoutStore; digest: Digest }> {
  const store = new LayoutStore(root);
  await store.init();
  const data = Buffer.from('hello\n');
  const tar = writeTar([
    { path: 'etc/hello.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, data },
  ]);
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const image = await store.putJson(
    {
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      config: await store.putJson(config, MediaType.imageConfig),
      layers: [layer],
    },
    MediaType.imageManifest,
  );
  await store.addManifest(image, { refName: 'hello:v1' });
  return { store, digest: image.digest };
}

/** The distribution API's two-step upload: POST opens a session, PUT with the digest closes it. */
async function uploadBlob(registry: TestRegistry, repository: string, bytes: Buffer): Promise<Digest> {
  const digest = sha256Digest(bytes);
  const open = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  assert.equal(open.status, 202, `upload session: ${open.status}`);
  const location = new URL(open.headers.get('location') ?? '', registry.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(put.status, 201, `blob put: ${put.status}`);
  return digest;
}

/** What an attacker with push access does, with plain HTTP: one blob, then a manifest under a tag. */
async function attackerPut(
  registry: TestRegistry,
  repository: string,
  tag: string,
  layers: { size: number }[],
): Promise<void> {
  const blob = Buffer.from('{"critical":{}}');
  const blobDigest = await uploadBlob(registry, repository, blob);
  const config = Buffer.from(
    '{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
  );
  const configDigest = await uploadBlob(registry, repository, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: { mediaType: MediaType.imageConfig, size: config.length, digest: configDigest },
    layers: layers.map((l) => ({
      mediaType: simpleSigning,
      size: l.size,
      digest: blobDigest,
      annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ' },
    })),
  };
  const put = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': MediaType.imageManifest },
    body: JSON.stringify(manifest),
  });
  assert.equal(put.status, 201, `manifest put: ${put.status} ${await put.text()}`);
}

async function blobCount(store: LayoutStore): Promise<number> {
  return (await readdir(join(store.root, 'blobs', 'sha256'))).length;
}

describe("herd refuses a registry's endless cosign manifests before fetching them", () => {
  let registry: TestRegistry;
  let work: string;
  let source: { store: LayoutStore; digest: Digest };

  before(async () => {
    registry = await startDockerRegistry();
    work = await mkdtemp(join(tmpdir(), 'herd-endless-sig-'));
    source = await writeImage(join(work, 'source'));
  });
  after(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const cases = [
    {
      what: `${cosignManifestLimits.maxLayers + 1} layers`,
      layers: () => Array.from({ length: cosignManifestLimits.maxLayers + 1 }, () => ({ size: 15 })),
      message: /holds 1001 layers, expected at most 1000/,
    },
    {
      what: 'one layer that says it is 4 GiB',
      layers: () => [{ size: 4 * 1024 * 1024 * 1024 }],
      message: /is 4294967296 bytes, expected at most 134217728/,
    },
    {
      what: '900 layers of 1 MiB each, 900 MiB in all',
      layers: () => Array.from({ length: 900 }, () => ({ size: 1024 * 1024 })),
      message: /hold 943718400 bytes, expected at most 268435456/,
    },
  ];

  for (const [index, testCase] of cases.entries()) {
    const repository = `herd/endless-${index}`;

    it(`pull refuses a .sig of ${testCase.what}, naming the tag, and stores nothing`, async () => {
      await pushImage(source, `${registry.host}/${repository}:v1`);
      const tag = `sha256-${hexOf(source.digest)}.sig`;
      await attackerPut(registry, repository, tag, testCase.layers());

      const target = new LayoutStore(join(work, `target-${index}`));
      await target.init();
      const indexBefore = await readFile(join(target.root, 'index.json'), 'utf8');
      const blobsBefore = await blobCount(target);
      await assert.rejects(
        pullImage(`${registry.host}/${repository}:v1`, target),
        (error: unknown) =>
          error instanceof RegistryError &&
          error.code === 'TOO_LARGE' &&
          error.message.includes(tag) &&
          testCase.message.test(error.message),
      );
      assert.equal(await readFile(join(target.root, 'index.json'), 'utf8'), indexBefore);
      // The image's own blobs may be in (unnamed); none of the .sig's were fetched.
      assert.ok((await blobCount(target)) <= blobsBefore + 3);
    });

    it(`push refuses to reconcile with a .sig of ${testCase.what}, before fetching any of it`, async () => {
      let reconciled = 0;
      await assert.rejects(
        pushImage(source, `${registry.host}/${repository}:v1`, {
          reconcileCosign: async () => {
            reconciled += 1;
          },
        }),
        (error: unknown) =>
          error instanceof RegistryError &&
          error.code === 'TOO_LARGE' &&
          testCase.message.test(error.message),
      );
      assert.equal(reconciled, 0);
    });
  }

  it('pull refuses a referrers tag that lists 1001 referrers, before fetching one', async () => {
    const repository = 'herd/endless-referrers';
    await pushImage(source, `${registry.host}/${repository}:v1`);
    // One small referrer, listed 1001 times: the registry checks that listed manifests exist.
    const config = Buffer.from('{}');
    const configDigest = await uploadBlob(registry, repository, config);
    const referrer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType: 'application/vnd.example.spam',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', size: config.length, digest: configDigest },
        layers: [],
        subject: { mediaType: MediaType.imageManifest, size: 1, digest: source.digest },
      }),
    );
    const referrerDigest = sha256Digest(referrer);
    const putReferrer = await fetch(`${registry.url}/v2/${repository}/manifests/${referrerDigest}`, {
      method: 'PUT',
      headers: { 'content-type': MediaType.imageManifest },
      body: referrer,
    });
    assert.equal(putReferrer.status, 201, `referrer put: ${putReferrer.status}`);
    const listed = Array.from({ length: referrerLimits.maxReferrers + 1 }, () => ({
      mediaType: MediaType.imageManifest,
      size: referrer.length,
      digest: referrerDigest,
      artifactType: 'application/vnd.example.spam',
    }));
    const put = await fetch(`${registry.url}/v2/${repository}/manifests/sha256-${hexOf(source.digest)}`, {
      method: 'PUT',
      headers: { 'content-type': MediaType.imageIndex },
      body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: listed }),
    });
    assert.equal(put.status, 201, `index put: ${put.status}`);

    const target = new LayoutStore(join(work, 'target-referrers'));
    await target.init();
    const indexBefore = await readFile(join(target.root, 'index.json'), 'utf8');
    await assert.rejects(
      pullImage(`${registry.host}/${repository}:v1`, target),
      (error: unknown) =>
        error instanceof RegistryError &&
        error.code === 'TOO_LARGE' &&
        /lists 1001 referrers of sha256:[0-9a-f]{64}, expected at most 1000/.test(error.message),
    );
    assert.equal(await readFile(join(target.root, 'index.json'), 'utf8'), indexBefore);
  });

  it('pull refuses a referrer whose one layer says it is 4 GiB, naming it', async () => {
    const repository = 'herd/huge-referrer';
    await pushImage(source, `${registry.host}/${repository}:v1`);
    const blob = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const blobDigest = await uploadBlob(registry, repository, blob);
    const config = Buffer.from('{}');
    const configDigest = await uploadBlob(registry, repository, config);
    const referrer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType: 'application/spdx+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', size: config.length, digest: configDigest },
        layers: [{ mediaType: 'application/spdx+json', size: 4 * 1024 ** 3, digest: blobDigest }],
        subject: { mediaType: MediaType.imageManifest, size: 1, digest: source.digest },
      }),
    );
    const referrerDigest = sha256Digest(referrer);
    const putReferrer = await fetch(`${registry.url}/v2/${repository}/manifests/${referrerDigest}`, {
      method: 'PUT',
      headers: { 'content-type': MediaType.imageManifest },
      body: referrer,
    });
    assert.equal(putReferrer.status, 201, `referrer put: ${putReferrer.status} ${await putReferrer.text()}`);
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [
        {
          mediaType: MediaType.imageManifest,
          size: referrer.length,
          digest: referrerDigest,
          artifactType: 'application/spdx+json',
        },
      ],
    };
    const putIndex = await fetch(
      `${registry.url}/v2/${repository}/manifests/sha256-${hexOf(source.digest)}`,
      {
        method: 'PUT',
        headers: { 'content-type': MediaType.imageIndex },
        body: JSON.stringify(index),
      },
    );
    assert.equal(putIndex.status, 201, `index put: ${putIndex.status}`);

    const target = new LayoutStore(join(work, 'target-huge-referrer'));
    await target.init();
    await assert.rejects(
      pullImage(`${registry.host}/${repository}:v1`, target),
      (error: unknown) =>
        error instanceof RegistryError &&
        error.code === 'TOO_LARGE' &&
        error.message.includes(`referrer ${referrerDigest}`) &&
        /is 4294967296 bytes, expected at most 134217728/.test(error.message),
    );
  });
});

describe('herd refuses an endless manifest from a registry', () => {
  let server: Server;
  let port: number;
  let sent = 0;

  before(async () => {
    // A registry that answers /v2/ and then streams a manifest that never ends (no length).
    server = createServer((req, res) => {
      if (req.url === '/v2/') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      res.writeHead(200, { 'content-type': MediaType.imageManifest });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('stops reading past the manifest cap, naming the manifest, and stores nothing', async () => {
    const work = await mkdtemp(join(tmpdir(), 'herd-endless-manifest-'));
    try {
      const target = new LayoutStore(join(work, 'target'));
      await target.init();
      const indexBefore = await readFile(join(target.root, 'index.json'), 'utf8');
      await assert.rejects(
        pullImage(`127.0.0.1:${port}/evil/app:v1`, target),
        (error: unknown) =>
          error instanceof RegistryError &&
          error.code === 'PROTOCOL_ERROR' &&
          error.message.includes(`more than ${maxManifestBytes} bytes`),
      );
      assert.equal(await readFile(join(target.root, 'index.json'), 'utf8'), indexBefore);
      // Bounded: the client hung up within a few socket buffers of the cap.
      assert.ok(sent < maxManifestBytes + 16 * 1024 * 1024, `the registry got to send ${sent} bytes`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
