/**
 * The registry client against Debian's docker-registry (distribution 2.8) on 127.0.0.1: push and
 * pull round trips, blob skipping, cross-repository mounts, chunked uploads, basic auth against
 * htpasswd, bearer tokens through a small in-test token service, and in-test registries that lie
 * about digests or cut responses short. skopeo, which no one here wrote, checks what was pushed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { attachArtifact } from '../src/oci/attach-artifact.js';
import { hexOf, sha256Digest } from '../src/oci/digest.js';
import { LayoutStore, refNameAnnotation } from '../src/oci/layout-store.js';
import { AuthFileCredentials } from '../src/oci/registry/auth-file-credentials.js';
import { EnvCredentials } from '../src/oci/registry/env-credentials.js';
import { RegistryError, type RegistryErrorCode } from '../src/oci/registry/errors.js';
import { pullImage } from '../src/oci/registry/pull-image.js';
import { pushImage } from '../src/oci/registry/push-image.js';
import { writeTar } from '../src/oci/tar.js';
import { type Digest, type ImageConfig, type ImageManifest, MediaType } from '../src/oci/types.js';
import { freePort, startDockerRegistry, type TestRegistry } from './support/docker-registry.js';

interface TestImage {
  store: LayoutStore;
  digest: Digest;
  manifest: ImageManifest;
  signature: Digest;
  referrer: Digest;
}

/** Config, two gzip layers (the second 6 KiB, for chunking), a cosign-style .sig and a referrer. */
async function writeTestImage(root: string): Promise<TestImage> {
  const store = new LayoutStore(root);
  await store.init();
  const file = (path: string, data: Buffer) => ({
    path,
    type: 'file' as const,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    data,
  });
  const tars = [
    writeTar([file('etc/hello.txt', Buffer.from('hello\n'))]),
    writeTar([file('app/data.bin', randomBytes(6 * 1024))]),
  ];
  const layers = [];
  for (const tar of tars) layers.push(await store.putBlob(gzipSync(tar, { level: 0 }), MediaType.layerGzip));
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256Digest(t)) },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers,
  };
  const image = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(image, { refName: 'hello:v1' });

  const payload = Buffer.from(
    `{"critical":{"identity":{"docker-reference":"127.0.0.1/herd/hello"},"image":{"docker-manifest-digest":"${image.digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
  const signatureManifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(
      { architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
      MediaType.imageConfig,
    ),
    layers: [
      {
        ...(await store.putBlob(payload, 'application/vnd.dev.cosign.simplesigning.v1+json')),
        annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQDtest' },
      },
    ],
  };
  const signature = await store.putJson(signatureManifest, MediaType.imageManifest);
  await store.addManifest(signature, { refName: `sha256-${hexOf(image.digest)}.sig` });

  const referrer = await attachArtifact(store, image, {
    artifactType: 'application/vnd.herd.file-manifest+json',
    data: Buffer.from('{"entries":[]}'),
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  });
  return { store, digest: image.digest, manifest, signature: signature.digest, referrer: referrer.digest };
}

async function blobFiles(store: LayoutStore): Promise<Map<string, Buffer>> {
  const dir = join(store.root, 'blobs', 'sha256');
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) files.set(name, await readFile(join(dir, name)));
  return files;
}

async function rejectsWith(promise: Promise<unknown>, code: RegistryErrorCode): Promise<RegistryError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof RegistryError && error.code === code;
  });
  return caught as RegistryError;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server & { port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Forwards a request to the real registry, minus its Authorization header. */
function proxy(req: IncomingMessage, res: ServerResponse, options: { port: number; path?: string }): void {
  const { authorization: _dropped, ...headers } = req.headers;
  const upstream = request(
    { host: '127.0.0.1', port: options.port, method: req.method, path: options.path ?? req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

function requireSkopeo(): void {
  if (spawnSync('sh', ['-c', 'command -v skopeo']).status !== 0) {
    assert.fail('skopeo is missing: install skopeo (apt-get install skopeo)');
  }
}

describe('registry client against docker-registry', () => {
  let work: string;
  let registry: TestRegistry;
  let image: TestImage;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-registry-test-'));
    registry = await startDockerRegistry();
    image = await writeTestImage(join(work, 'source'));
  });

  after(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pushes the image, its signature and its referrer, and a pull into a fresh store gives the same digest and blobs', async () => {
    const target = new LayoutStore(join(work, 'pulled'));

    const pushed = await pushImage(image, `${registry.host}/herd/hello:v1`);
    const pulled = await pullImage(`${registry.host}/herd/hello:v1`, target);

    assert.ok(pushed.blobs.every((b) => b.action === 'uploaded' && b.method === 'monolithic'));
    assert.deepEqual(
      pushed.manifests.map((m) => [m.role, m.action, m.tags]),
      [
        ['image', 'pushed', ['v1']],
        ['signature', 'pushed', [`sha256-${hexOf(image.digest)}.sig`]],
        ['referrer', 'pushed', []],
        ['referrers-index', 'pushed', [`sha256-${hexOf(image.digest)}`]],
      ],
    );
    assert.equal(pulled.digest, image.digest);
    assert.deepEqual(await blobFiles(target), await blobFiles(image.store));
    assert.equal(await target.resolve('herd/hello:v1'), image.digest);
    assert.equal(await target.resolve(`sha256-${hexOf(image.digest)}.sig`), image.signature);
    assert.deepEqual(
      (await target.referrers(image.digest)).map((d) => [d.digest, d.artifactType]),
      [[image.referrer, 'application/vnd.herd.file-manifest+json']],
    );
  });

  it('skips every blob and manifest that the registry already has on a second push', async () => {
    const pushed = await pushImage(image, `${registry.host}/herd/hello:v1`);

    assert.ok(pushed.blobs.length >= 5);
    assert.ok(pushed.blobs.every((b) => b.action === 'skipped'));
    assert.ok(pushed.manifests.every((m) => m.action === 'skipped'));
  });

  it('mounts blobs from another repository of the same registry instead of uploading them', async () => {
    const pushed = await pushImage(image, `${registry.host}/herd/other:v1`, { mountFrom: ['herd/hello'] });

    assert.ok(pushed.blobs.length >= 5);
    assert.ok(pushed.blobs.every((b) => b.action === 'mounted' && b.from === 'herd/hello'));
  });

  it('uploads blobs above the chunk size in chunks that the registry reassembles', async () => {
    const target = new LayoutStore(join(work, 'pulled-chunked'));

    const pushed = await pushImage(image, `${registry.host}/herd/chunked:v1`, { chunkSize: 1024 });
    const pulled = await pullImage(`${registry.host}/herd/chunked@${image.digest}`, target);

    const big = pushed.blobs.find((b) => b.digest === image.manifest.layers[1]?.digest);
    assert.equal(big?.method, 'chunked');
    assert.ok((big?.size ?? 0) > 4 * 1024);
    assert.equal(pulled.digest, image.digest);
    assert.equal(pulled.refName, `herd/chunked@${image.digest}`);
  });

  it('is seen by skopeo, with the digest herd pushed', () => {
    requireSkopeo();

    const inspected = spawnSync(
      'skopeo',
      ['inspect', '--tls-verify=false', `docker://${registry.host}/herd/hello:v1`],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );

    assert.equal(inspected.status, 0, inspected.stderr);
    const report = JSON.parse(inspected.stdout) as { Digest: string; RepoTags: string[]; Layers: string[] };
    assert.equal(report.Digest, image.digest);
    assert.deepEqual(
      report.Layers,
      image.manifest.layers.map((l) => l.digest),
    );
    assert.ok(report.RepoTags.includes(`sha256-${hexOf(image.digest)}.sig`));
  });

  it('says when nothing listens where the registry should be', async () => {
    const port = await freePort();

    const error = await rejectsWith(
      pushImage(image, `127.0.0.1:${port}/herd/hello:v1`),
      'REGISTRY_UNREACHABLE',
    );

    assert.match(error.message, /ECONNREFUSED/);
  });
});

describe('registry client with basic auth (htpasswd)', () => {
  const password = 'correct-horse-battery';
  let work: string;
  let registry: TestRegistry;
  let image: TestImage;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-registry-basic-'));
    registry = await startDockerRegistry({ htpasswd: { username: 'alice', password } });
    image = await writeTestImage(join(work, 'source'));
  });

  after(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pushes and pulls with HERD_REGISTRY_USERNAME and HERD_REGISTRY_PASSWORD', async () => {
    const credentials = new EnvCredentials({
      env: { HERD_REGISTRY_USERNAME: 'alice', HERD_REGISTRY_PASSWORD: password },
    });

    await pushImage(image, `${registry.host}/herd/private:v1`, { credentials });
    const pulled = await pullImage(
      `${registry.host}/herd/private:v1`,
      new LayoutStore(join(work, 'pulled')),
      {
        credentials,
      },
    );

    assert.equal(pulled.digest, image.digest);
  });

  it('pulls with credentials from a docker config.json', async () => {
    const path = join(work, 'config.json');
    const auth = Buffer.from(`alice:${password}`).toString('base64');
    await writeFile(path, JSON.stringify({ auths: { [registry.host]: { auth } } }));

    const pulled = await pullImage(
      `${registry.host}/herd/private:v1`,
      new LayoutStore(join(work, 'pulled-2')),
      {
        credentials: new AuthFileCredentials({ files: [{ path, format: 'docker' }] }),
      },
    );

    assert.equal(pulled.digest, image.digest);
  });

  it('pushes and pulls with a docker credential helper that credHelpers names', async () => {
    const bin = join(work, 'bin');
    await mkdir(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-herd-registry-test');
    // A real helper program: `get`, the host on stdin, {"Username", "Secret"} on stdout.
    await writeFile(
      helper,
      `#!/bin/sh\nhost=$(cat)\n[ "$1" = get ] && [ "$host" = "${registry.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"alice","Secret":"${password}"}' "$host"\n`,
    );
    await chmod(helper, 0o755);
    const home = join(work, 'helper-home');
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({
        auths: { [registry.host]: {} },
        credHelpers: { [registry.host]: 'herd-registry-test' },
      }),
    );
    const credentials = new AuthFileCredentials({
      env: { HOME: home, XDG_RUNTIME_DIR: join(work, 'no-runtime'), PATH: `${bin}:${process.env.PATH}` },
    });

    await pushImage(image, `${registry.host}/herd/helper:v1`, { credentials });
    const pulled = await pullImage(
      `${registry.host}/herd/helper:v1`,
      new LayoutStore(join(work, 'pulled-3')),
      {
        credentials,
      },
    );

    assert.equal(pulled.digest, image.digest);
  });

  it('pulls with credentials from the containers auth.json that REGISTRY_AUTH_FILE names', async () => {
    const authFile = join(work, 'auth.json');
    await writeFile(
      authFile,
      JSON.stringify({
        auths: { [registry.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } },
      }),
    );

    const pulled = await pullImage(
      `${registry.host}/herd/private:v1`,
      new LayoutStore(join(work, 'pulled-4')),
      {
        credentials: new AuthFileCredentials({
          env: { HOME: join(work, 'empty-home'), REGISTRY_AUTH_FILE: authFile },
        }),
      },
    );

    assert.equal(pulled.digest, image.digest);
  });

  it('fails with AUTH_FAILED on a wrong password, and no password appears in the error', async () => {
    const wrong = 'wrong-password-4711';
    const credentials = new EnvCredentials({
      env: { HERD_REGISTRY_USERNAME: 'alice', HERD_REGISTRY_PASSWORD: wrong },
    });

    const error = await rejectsWith(
      pushImage(image, `${registry.host}/herd/private:v2`, { credentials }),
      'AUTH_FAILED',
    );

    const shown = `${error.message}\n${error.stack}\n${JSON.stringify(error)}`;
    for (const secret of [wrong, password, Buffer.from(`alice:${wrong}`).toString('base64')]) {
      assert.ok(!shown.includes(secret), `error shows ${secret}: ${shown}`);
    }
  });

  it('fails with AUTH_FAILED when the registry asks and no credentials are configured', async () => {
    await rejectsWith(
      pullImage(`${registry.host}/herd/private:v1`, new LayoutStore(join(work, 'anon'))),
      'AUTH_FAILED',
    );
  });
});

describe('registry client with bearer tokens', () => {
  const password = 'token-service-secret';
  let work: string;
  let registry: TestRegistry;
  let image: TestImage;
  let tokenService: Server & { port: number };
  let front: Server & { port: number };
  let storage: Server & { port: number };
  const issued = new Set<string>();
  const requestedScopes: string[] = [];
  const storageAuthorization: (string | undefined)[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-registry-bearer-'));
    registry = await startDockerRegistry();
    image = await writeTestImage(join(work, 'source'));
    tokenService = await listen((req, res) => {
      const url = new URL(req.url ?? '/', 'http://token');
      if (req.headers.authorization !== `Basic ${Buffer.from(`bob:${password}`).toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      const token = randomBytes(16).toString('hex');
      issued.add(token);
      requestedScopes.push(...url.searchParams.getAll('scope'));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: token, expires_in: 300 }));
    });
    // Object storage on another origin: blob GETs are redirected here with a presigned-style URL.
    storage = await listen((req, res) => {
      storageAuthorization.push(req.headers.authorization);
      proxy(req, res, {
        port: Number(registry.host.split(':')[1]),
        path: new URL(req.url ?? '/', 'http://s').pathname,
      });
    });
    // The registry front demands a token from the token service, then forwards to docker-registry.
    front = await listen((req, res) => {
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!issued.has(token)) {
        res
          .writeHead(401, {
            'content-type': 'application/json',
            'www-authenticate': `Bearer realm="http://127.0.0.1:${tokenService.port}/token",service="herd-test"`,
          })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}');
        return;
      }
      if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) {
        res
          .writeHead(307, { location: `http://127.0.0.1:${storage.port}${req.url}?X-Amz-Signature=abc` })
          .end();
        return;
      }
      proxy(req, res, { port: Number(registry.host.split(':')[1]) });
    });
  });

  after(async () => {
    await Promise.all([close(front), close(tokenService), close(storage)]);
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gets a token for the repository scope and pushes and pulls through the registry', async () => {
    const credentials = new EnvCredentials({
      env: { HERD_REGISTRY_USERNAME: 'bob', HERD_REGISTRY_PASSWORD: password },
    });
    const reference = `127.0.0.1:${front.port}/herd/bearer:v1`;

    await pushImage(image, reference, { credentials });
    const pulled = await pullImage(reference, new LayoutStore(join(work, 'pulled')), { credentials });

    assert.equal(pulled.digest, image.digest);
    assert.ok(requestedScopes.includes('repository:herd/bearer:pull,push'));
    assert.ok(requestedScopes.includes('repository:herd/bearer:pull'));
    // Tokens are cached per scope: a handful, not one per request.
    assert.ok(issued.size <= 4, `${issued.size} tokens issued`);
  });

  it('follows blob redirects to storage without the Authorization header', () => {
    assert.ok(storageAuthorization.length > 0, 'blobs were fetched through storage');
    assert.deepEqual(
      storageAuthorization.filter((a) => a !== undefined),
      [],
    );
  });

  it('fails with AUTH_FAILED when the token service refuses the password, without showing it', async () => {
    const credentials = new EnvCredentials({
      env: { HERD_REGISTRY_USERNAME: 'bob', HERD_REGISTRY_PASSWORD: 'nope-1234' },
    });

    const error = await rejectsWith(
      pullImage(`127.0.0.1:${front.port}/herd/bearer:v1`, new LayoutStore(join(work, 'refused')), {
        credentials,
      }),
      'AUTH_FAILED',
    );

    assert.ok(!error.message.includes('nope-1234'));
  });
});

type Lie = 'manifest-bytes' | 'blob-bytes' | 'truncated-blob' | 'upload-digest';

/** A registry that serves the test image from memory but lies in one way. */
async function lyingRegistry(image: TestImage, lie: Lie): Promise<Server & { port: number }> {
  const manifestBytes = await image.store.getBlob(image.digest);
  const victim = image.manifest.layers[1]?.digest as Digest;
  return listen((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, body: Buffer, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, { 'content-length': String(body.length), ...headers })
        .end(req.method === 'HEAD' ? undefined : body);
    const manifest = /^\/v2\/evil\/manifests\/(v1|sha256:[0-9a-f]{64})$/.exec(path);
    const blob = /^\/v2\/evil\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (path === '/v2/') return send(200, Buffer.from('{}'));
    if (manifest && (manifest[1] === 'v1' || manifest[1] === image.digest)) {
      const body =
        lie === 'manifest-bytes' ? Buffer.concat([manifestBytes, Buffer.from(' ')]) : manifestBytes;
      return send(200, body, {
        'content-type': MediaType.imageManifest,
        'docker-content-digest': image.digest,
      });
    }
    if (blob && req.method === 'GET') {
      image.store.getBlob(blob[1] as Digest).then((bytes) => {
        if (blob[1] === victim && lie === 'blob-bytes') {
          const altered = Buffer.from(bytes);
          altered[altered.length - 1] = (altered.at(-1) ?? 0) ^ 0xff;
          return send(200, altered);
        }
        if (blob[1] === victim && lie === 'truncated-blob') {
          res.writeHead(200, { 'content-length': String(bytes.length) });
          res.write(bytes.subarray(0, bytes.length / 2), () => res.destroy());
          return;
        }
        send(200, bytes);
      });
      return;
    }
    if (req.method === 'POST' && path === '/v2/evil/blobs/uploads/') {
      return send(202, Buffer.alloc(0), { location: '/v2/evil/blobs/uploads/session-1' });
    }
    if (req.method === 'PUT' && path === '/v2/evil/blobs/uploads/session-1') {
      req.resume();
      req.on('end', () =>
        send(201, Buffer.alloc(0), { 'docker-content-digest': `sha256:${'0'.repeat(64)}` }),
      );
      return;
    }
    send(404, Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}'));
  });
}

describe('registry client against registries that send the wrong bytes', () => {
  let work: string;
  let image: TestImage;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-registry-lies-'));
    image = await writeTestImage(join(work, 'source'));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function pullFrom(lie: Lie, reference: (port: number) => string) {
    const server = await lyingRegistry(image, lie);
    const target = new LayoutStore(join(work, `target-${lie}-${randomBytes(3).toString('hex')}`));
    await target.init();
    const indexBefore = await readFile(join(target.root, 'index.json'));
    try {
      const outcome = await pullImage(reference(server.port), target).then(
        () => undefined,
        (error: unknown) => error,
      );
      return { outcome, target, indexBefore, indexAfter: await readFile(join(target.root, 'index.json')) };
    } finally {
      await close(server);
    }
  }

  it('refuses a manifest whose bytes do not match the digest the registry reports, storing nothing', async () => {
    const { outcome, indexBefore, indexAfter } = await pullFrom(
      'manifest-bytes',
      (p) => `127.0.0.1:${p}/evil:v1`,
    );

    assert.ok(outcome instanceof RegistryError && outcome.code === 'DIGEST_MISMATCH', String(outcome));
    assert.match(outcome.message, new RegExp(image.digest));
    assert.deepEqual(indexAfter, indexBefore);
  });

  it('refuses a manifest that does not match the digest the reference names', async () => {
    const { outcome } = await pullFrom('manifest-bytes', (p) => `127.0.0.1:${p}/evil@${image.digest}`);

    assert.ok(outcome instanceof RegistryError && outcome.code === 'DIGEST_MISMATCH', String(outcome));
  });

  it('refuses a blob whose bytes do not hash to its digest, and never stores it', async () => {
    const victim = image.manifest.layers[1]?.digest as Digest;

    const { outcome, target, indexBefore, indexAfter } = await pullFrom(
      'blob-bytes',
      (p) => `127.0.0.1:${p}/evil:v1`,
    );

    assert.ok(outcome instanceof RegistryError && outcome.code === 'DIGEST_MISMATCH', String(outcome));
    assert.match(outcome.message, new RegExp(victim));
    assert.equal(await target.hasBlob(victim), false);
    assert.deepEqual(indexAfter, indexBefore);
  });

  it('fails on a blob download cut short, leaving no blob and no temp file', async () => {
    const victim = image.manifest.layers[1]?.digest as Digest;

    const { outcome, target, indexBefore, indexAfter } = await pullFrom(
      'truncated-blob',
      (p) => `127.0.0.1:${p}/evil:v1`,
    );

    assert.ok(outcome instanceof RegistryError && outcome.code === 'PROTOCOL_ERROR', String(outcome));
    assert.match(outcome.message, /cut off/);
    assert.equal(await target.hasBlob(victim), false);
    assert.ok(
      (await readdir(join(target.root, 'blobs', 'sha256'))).every((name) => /^[0-9a-f]{64}$/.test(name)),
    );
    assert.deepEqual(indexAfter, indexBefore);
    assert.deepEqual(
      (await target.readIndex()).manifests.filter((m) => m.annotations?.[refNameAnnotation]),
      [],
    );
  });

  it('refuses an upload the registry confirms under another digest', async () => {
    const server = await lyingRegistry(image, 'upload-digest');
    try {
      await rejectsWith(pushImage(image, `127.0.0.1:${server.port}/evil:v1`), 'DIGEST_MISMATCH');
    } finally {
      await close(server);
    }
  });
});
