/**
 * herd's signatures against a signer and a verifier nobody here wrote: podman 4.3 and skopeo
 * (containers/image) with sigstore attachments, through Debian's docker-registry (distribution 2.8).
 *
 * Debian builds containers/image with `disable-sigstore.patch` ("Debian-local change: sigstore
 * disabled"): its podman and skopeo can neither make nor check a sigstore signature. The two podman
 * cases are therefore registered only with HERD_TEST_SIGSTORE_PODMAN=1, for a machine with an
 * upstream podman; there they fail, saying why, if the podman turns out to lack sigstore. They are
 * never skipped-and-counted: on Debian's podman they are simply not part of the run. What Debian's build does keep is the sigstore *attachment* code, so containers/image
 * still reads herd's `.sig` layout from a registry and writes its own, and herd checks both ways.
 * The key format is checked against libsodium, an implementation of scrypt and NaCl secretbox that
 * nobody here wrote.
 *
 * Everything podman reads is private to the test: storage under a temp root, containers.conf via
 * CONTAINERS_CONF, registries.conf via CONTAINERS_REGISTRIES_CONF, the policy via
 * --signature-policy, and registries.d via $HOME/.config/containers/registries.d, which
 * containers/image prefers to /etc/containers/registries.d when it exists
 * (containers-registries.d(5)). Nothing under /etc is touched.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from '../src/oci/digest.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import { writeTar } from '../src/oci/tar.js';
import { type Digest, type ImageConfig, type ImageManifest, MediaType } from '../src/oci/types.js';
import {
  generateCosignKeyPair,
  keyFingerprint,
  loadCosignPrivateKey,
  loadPublicKey,
} from '../src/trust/cosign-key.js';
import { TrustError } from '../src/trust/errors.js';
import { signImage } from '../src/trust/image-signatures.js';
import {
  signatureAnnotation,
  signatureTag,
  verifySignatureManifest,
} from '../src/trust/signature-manifest.js';
import { simpleSigningMediaType } from '../src/trust/simple-signing.js';

const password = 'herd test passphrase';
const sigstoreDisabled = 'Debian-local change: sigstore disabled';
const sigstoreMissing =
  'this podman is built without sigstore (Debian disable-sigstore.patch): install an upstream podman 4.3 or later to run these cases';
/** Cases that need a podman with sigstore: part of the run only where one is installed. */
const sigstorePodmanIt = process.env.HERD_TEST_SIGSTORE_PODMAN === '1' ? it : () => undefined;
const manifestAccept = [MediaType.imageManifest, 'application/vnd.docker.distribution.manifest.v2+json'].join(
  ', ',
);

function requireTool(name: string, install: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) {
    throw new Error(`${name} is not installed: install ${install} (apt-get install ${install})`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForRegistry(base: string, registry: ChildProcess, log: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (registry.exitCode !== null) throw new Error(`docker-registry exited: ${log.join('')}`);
    try {
      const response = await fetch(`${base}/v2/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer GET /v2/ within 10 s: ${log.join('')}`);
}

/** A config, one gzip layer holding one file, and a manifest, written by hand into a layout. */
async function writeTinyImage(
  store: LayoutStore,
  options: { text: string; refName: string },
): Promise<Digest> {
  const data = Buffer.from(options.text);
  const tar = writeTar([
    { path: 'hello.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, data },
  ]);
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers: [layer],
  };
  const descriptor = await store.putJson(manifest, MediaType.imageManifest);
  await store.addManifest(descriptor, { refName: options.refName });
  return descriptor.digest;
}

/** Monolithic blob upload: POST for a session, then PUT the bytes with their digest (distribution spec). */
async function uploadBlob(base: string, repository: string, bytes: Uint8Array): Promise<void> {
  const start = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202, `upload session for ${repository}`);
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', sha256Digest(bytes));
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(put.status, 201, `blob ${sha256Digest(bytes)} upload`);
}

/** A manifest under a tag and every blob it names, fetched with plain HTTP as a registry client would. */
async function fetchManifestAndBlobs(
  base: string,
  options: { repository: string; reference: string },
): Promise<{ manifest: unknown; blobs: Map<string, Uint8Array> }> {
  const response = await fetch(`${base}/v2/${options.repository}/manifests/${options.reference}`, {
    headers: { accept: manifestAccept },
  });
  assert.equal(response.status, 200, `manifest ${options.repository}:${options.reference}`);
  const manifest = (await response.json()) as ImageManifest;
  const blobs = new Map<string, Uint8Array>();
  for (const descriptor of [manifest.config, ...manifest.layers]) {
    const blob = await fetch(`${base}/v2/${options.repository}/blobs/${descriptor.digest}`);
    assert.equal(blob.status, 200, `blob ${descriptor.digest}`);
    blobs.set(descriptor.digest, new Uint8Array(await blob.arrayBuffer()));
  }
  return { manifest, blobs };
}

describe('cosign signatures with podman and skopeo', () => {
  let dir: string;
  let port: number;
  let base: string;
  let registry: ChildProcess | undefined;
  const registryLog: string[] = [];
  let env: NodeJS.ProcessEnv;
  let permissivePolicy: string;

  /** A private podman; `storage` picks a separate image store, so one pull cannot reuse another's image. */
  function podman(
    args: string[],
    options: { storage?: string } = {},
  ): { status: number; stdout: string; stderr: string } {
    const name = options.storage ?? 'storage';
    const storage = [
      '--root',
      join(dir, name),
      '--runroot',
      join(dir, `${name}-run`),
      '--storage-driver',
      'vfs',
    ];
    const result = spawnSync('podman', [...storage, ...args], { encoding: 'utf8', env, timeout: 60_000 });
    return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  function skopeo(args: string[]): { status: number; stdout: string; stderr: string } {
    const result = spawnSync('skopeo', args, { encoding: 'utf8', env, timeout: 60_000 });
    return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  }

  before(async () => {
    requireTool('podman', 'podman');
    requireTool('skopeo', 'skopeo');
    requireTool('runc', 'runc');
    requireTool('docker-registry', 'docker-registry');
    // Lowercase only: podman names an image pulled from `oci:<path>` after the path.
    dir = join(tmpdir(), `herd-sigstore-${randomBytes(6).toString('hex')}`);
    await mkdir(dir);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;

    const registryConfig = join(dir, 'registry.yaml');
    await writeFile(
      registryConfig,
      [
        'version: 0.1',
        'log: {level: warn}',
        'storage:',
        `  filesystem: {rootdirectory: ${join(dir, 'registry')}}`,
        'http:',
        `  addr: 127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
    registry = spawn('docker-registry', ['serve', registryConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
    registry.stderr?.on('data', (chunk: Buffer) => {
      if (registryLog.length < 200) registryLog.push(chunk.toString());
    });
    await waitForRegistry(base, registry, registryLog);

    const home = join(dir, 'home');
    await mkdir(join(home, '.config', 'containers', 'registries.d'), { recursive: true });
    await writeFile(
      join(home, '.config', 'containers', 'registries.d', 'herd-test.yaml'),
      `docker:\n  127.0.0.1:${port}:\n    use-sigstore-attachments: true\n`,
    );
    await writeFile(
      join(dir, 'registries.conf'),
      `unqualified-search-registries = []\n\n[[registry]]\nlocation = "127.0.0.1:${port}"\ninsecure = true\n`,
    );
    await writeFile(
      join(dir, 'containers.conf'),
      '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
    );
    permissivePolicy = join(dir, 'policy-any.json');
    await writeFile(permissivePolicy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    env = {
      ...process.env,
      HOME: home,
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    };
  });

  after(async () => {
    if (registry && registry.exitCode === null) {
      const exited = new Promise((resolve) => registry?.once('exit', resolve));
      registry.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  sigstorePodmanIt(
    'herd verifies a signature podman made with a herd-generated key, and rejects it under another key',
    async () => {
      const pair = generateCosignKeyPair(password);
      await writeFile(join(dir, 'herd.key'), pair.privateKeyPem, { mode: 0o600 });
      await writeFile(join(dir, 'passphrase'), password, { mode: 0o600 });
      const layout = new LayoutStore(join(dir, 'layout-a'));
      await layout.init();
      await writeTinyImage(layout, { text: 'signed by podman\n', refName: 'tiny' });
      const pulled = podman(['pull', '--signature-policy', permissivePolicy, `oci:${layout.root}:tiny`]);
      assert.equal(pulled.status, 0, pulled.stderr);
      const imageId = pulled.stdout.trim().split('\n').at(-1) ?? '';
      const destination = `127.0.0.1:${port}/test/signed:v1`;

      const pushed = podman([
        'push',
        '--tls-verify=false',
        '--signature-policy',
        permissivePolicy,
        '--sign-by-sigstore-private-key',
        join(dir, 'herd.key'),
        '--sign-passphrase-file',
        join(dir, 'passphrase'),
        '--digestfile',
        join(dir, 'digest-a'),
        imageId,
        `docker://${destination}`,
      ]);

      assert.ok(!pushed.stderr.includes(sigstoreDisabled), sigstoreMissing);
      assert.equal(pushed.status, 0, pushed.stderr);
      const digest = (await readFile(join(dir, 'digest-a'), 'utf8')).trim() as Digest;
      const signed = await fetchManifestAndBlobs(base, {
        repository: 'test/signed',
        reference: signatureTag(digest),
      });
      const { signatures: verified } = verifySignatureManifest(signed, {
        imageDigest: digest,
        publicKeys: [loadPublicKey(pair.publicKeyPem)],
      });
      assert.equal(verified.length, 1);
      assert.equal(verified[0]?.claim.manifestDigest, digest);
      assert.match(verified[0]?.dockerReference ?? '', new RegExp(`^127\\.0\\.0\\.1:${port}/test/signed`));
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
      assert.throws(
        () => verifySignatureManifest(signed, { imageDigest: digest, publicKeys: [other] }),
        (error: unknown) => error instanceof TrustError && error.code === 'SIGNATURE_INVALID',
      );
      assert.throws(
        () =>
          verifySignatureManifest(signed, {
            imageDigest: `sha256:${'0'.repeat(64)}`,
            publicKeys: [loadPublicKey(pair.publicKeyPem)],
          }),
        (error: unknown) => error instanceof TrustError && error.code === 'SIGNATURE_WRONG_DIGEST',
      );
    },
  );

  /** herd's key pair, and an image herd signed for `127.0.0.1:<port>/test/img` and pushed with its `.sig`. */
  let herdSigned:
    | Promise<{ digest: Digest; publicKeyPem: string; payload: Buffer; signature: string }>
    | undefined;
  function pushHerdSignedImage(): Promise<{
    digest: Digest;
    publicKeyPem: string;
    payload: Buffer;
    signature: string;
  }> {
    herdSigned ??= (async () => {
      const pair = generateCosignKeyPair(password);
      const repository = 'test/img';
      const store = new LayoutStore(join(dir, 'herd-store'));
      await store.init();
      const digest = await writeTinyImage(store, { text: 'signed by herd\n', refName: 'img' });
      await signImage(store, digest, {
        key: loadCosignPrivateKey(pair.privateKeyPem, password),
        identity: `127.0.0.1:${port}/${repository}`,
      });
      // The image goes through skopeo; the .sig manifest and its blobs through plain HTTP, byte for byte.
      const copied = skopeo([
        'copy',
        '--preserve-digests',
        '--policy',
        permissivePolicy,
        '--dest-tls-verify=false',
        `oci:${store.root}:img`,
        `docker://127.0.0.1:${port}/${repository}:v1`,
      ]);
      assert.equal(copied.status, 0, copied.stderr);
      const sigManifestDigest = await store.resolve(signatureTag(digest));
      const sigManifestBytes = await store.getBlob(sigManifestDigest);
      const sigManifest = JSON.parse(sigManifestBytes.toString('utf8')) as ImageManifest;
      for (const descriptor of [sigManifest.config, ...sigManifest.layers]) {
        await uploadBlob(base, repository, await store.getBlob(descriptor.digest));
      }
      const put = await fetch(`${base}/v2/${repository}/manifests/${signatureTag(digest)}`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.imageManifest },
        body: sigManifestBytes,
      });
      assert.equal(put.status, 201, await put.text());
      assert.equal(put.headers.get('docker-content-digest'), sigManifestDigest);
      const [layer] = sigManifest.layers;
      assert.ok(layer);
      return {
        digest,
        publicKeyPem: pair.publicKeyPem,
        payload: await store.getBlob(layer.digest),
        signature: layer.annotations?.[signatureAnnotation] ?? '',
      };
    })();
    return herdSigned;
  }

  async function policyFor(name: string, keyPath: string): Promise<string> {
    const path = join(dir, `policy-${name}.json`);
    const requirement = { type: 'sigstoreSigned', keyPath, signedIdentity: { type: 'matchRepository' } };
    await writeFile(
      path,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: { docker: { [`127.0.0.1:${port}`]: [requirement] } },
      }),
    );
    return path;
  }

  sigstorePodmanIt(
    'podman pulls a herd-signed image under a sigstoreSigned policy with herd’s key, and refuses another key',
    async () => {
      const signed = await pushHerdSignedImage();
      await writeFile(join(dir, 'herd.pub'), signed.publicKeyPem);
      await writeFile(join(dir, 'other.pub'), generateCosignKeyPair(password).publicKeyPem);
      const image = `127.0.0.1:${port}/test/img:v1`;
      const pull = async (name: string) =>
        podman(
          [
            'pull',
            '--tls-verify=false',
            '--signature-policy',
            await policyFor(name, join(dir, `${name}.pub`)),
            image,
          ],
          {
            storage: `pull-${name}`,
          },
        );

      const accepted = await pull('herd');
      const refused = await pull('other');

      assert.ok(!accepted.stderr.includes(sigstoreDisabled), sigstoreMissing);
      assert.equal(accepted.status, 0, accepted.stderr);
      const inspected = podman(['image', 'inspect', '--format', '{{.Digest}}', image], {
        storage: 'pull-herd',
      });
      assert.equal(inspected.stdout.trim(), signed.digest);
      assert.notEqual(refused.status, 0, 'podman must refuse a signature made with another key');
      assert.match(refused.stderr, /signature|key/i);
    },
  );

  it('containers/image reads herd’s .sig layout from the registry: payload and signature annotation', async () => {
    const signed = await pushHerdSignedImage();
    const out = join(dir, 'read-by-skopeo');

    const copied = skopeo([
      'copy',
      '--policy',
      permissivePolicy,
      '--src-tls-verify=false',
      `docker://127.0.0.1:${port}/test/img:v1`,
      `dir:${out}`,
    ]);

    assert.equal(copied.status, 0, copied.stderr);
    // containers/image's own serialization of a sigstore signature: "\0sigstore-json\n" + JSON.
    const stored = await readFile(join(out, 'signature-1'));
    const prefix = Buffer.from('\0sigstore-json\n');
    assert.deepEqual(
      stored.subarray(0, prefix.length),
      prefix,
      'containers/image found a sigstore attachment',
    );
    const sigstore = JSON.parse(stored.subarray(prefix.length).toString('utf8')) as {
      mimeType: string;
      payload: string;
      annotations: Record<string, string>;
    };
    assert.equal(sigstore.mimeType, simpleSigningMediaType);
    assert.deepEqual(Buffer.from(sigstore.payload, 'base64'), signed.payload);
    assert.equal(sigstore.annotations[signatureAnnotation], signed.signature);
    assert.equal(sha256Digest(await readFile(join(out, 'manifest.json'))), signed.digest);
  });

  it('herd verifies the .sig layout containers/image writes when it copies a signed image', async () => {
    const signed = await pushHerdSignedImage();
    const out = join(dir, 'rewritten-by-skopeo');
    const read = skopeo([
      'copy',
      '--policy',
      permissivePolicy,
      '--src-tls-verify=false',
      `docker://127.0.0.1:${port}/test/img:v1`,
      `dir:${out}`,
    ]);
    assert.equal(read.status, 0, read.stderr);

    const written = skopeo([
      'copy',
      '--policy',
      permissivePolicy,
      '--dest-tls-verify=false',
      `dir:${out}`,
      `docker://127.0.0.1:${port}/test/copied:v1`,
    ]);

    assert.equal(written.status, 0, written.stderr);
    const fetched = await fetchManifestAndBlobs(base, {
      repository: 'test/copied',
      reference: signatureTag(signed.digest),
    });
    const herdConfig = (fetched.manifest as ImageManifest).config;
    const { signatures: verified } = verifySignatureManifest(fetched, {
      imageDigest: signed.digest,
      publicKeys: [loadPublicKey(signed.publicKeyPem)],
    });
    assert.equal(verified.length, 1);
    assert.equal(herdConfig.mediaType, MediaType.imageConfig);
    assert.throws(
      () =>
        verifySignatureManifest(fetched, {
          imageDigest: signed.digest,
          publicKeys: [generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey],
        }),
      (error: unknown) => error instanceof TrustError && error.code === 'SIGNATURE_INVALID',
    );
  });
});

describe('herd key files and libsodium', () => {
  /**
   * Decrypts a herd private key with libsodium through Python's ctypes: libsodium's own scrypt
   * (crypto_pwhash_scryptsalsa208sha256_ll) and secretbox (crypto_secretbox_open_easy), the
   * primitives go-securesystemslib uses, in an implementation nobody here wrote.
   */
  const opener = String.raw`
import base64, ctypes, ctypes.util, json, re, sys
sodium = ctypes.CDLL(ctypes.util.find_library('sodium') or 'libsodium.so.23')
assert sodium.sodium_init() >= 0
pem, password = sys.stdin.read().split('\n---password---\n')
body = re.search(r'-----BEGIN ([A-Z ]+)-----\n(.*?)\n-----END', pem, re.S).group(2)
doc = json.loads(base64.b64decode(body.replace('\n', '')))
salt = base64.b64decode(doc['kdf']['salt'])
nonce = base64.b64decode(doc['cipher']['nonce'])
box = base64.b64decode(doc['ciphertext'])
params = doc['kdf']['params']
key = ctypes.create_string_buffer(32)
pw = password.encode()
assert sodium.crypto_pwhash_scryptsalsa208sha256_ll(pw, ctypes.c_size_t(len(pw)), salt, ctypes.c_size_t(len(salt)), ctypes.c_uint64(params['N']), ctypes.c_uint32(params['r']), ctypes.c_uint32(params['p']), key, ctypes.c_size_t(32)) == 0
out = ctypes.create_string_buffer(len(box) - 16)
if sodium.crypto_secretbox_open_easy(out, box, ctypes.c_ulonglong(len(box)), nonce, key) != 0:
    sys.exit(3)
sys.stdout.write(base64.b64encode(out.raw).decode())
`;

  function openWithLibsodium(pem: string, secret: string): { status: number; der: Buffer; stderr: string } {
    const result = spawnSync('python3', ['-c', opener], {
      input: `${pem}\n---password---\n${secret}`,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return {
      status: result.status ?? -1,
      der: Buffer.from(result.stdout ?? '', 'base64'),
      stderr: result.stderr ?? '',
    };
  }

  before(() => {
    requireTool('python3', 'python3');
    const probe = spawnSync('python3', [
      '-c',
      "import ctypes, ctypes.util; ctypes.CDLL(ctypes.util.find_library('sodium') or 'libsodium.so.23')",
    ]);
    if (probe.status !== 0)
      throw new Error('libsodium is not installed: install libsodium23 (apt-get install libsodium23)');
  });

  it('libsodium opens a herd private key with the password, and the key inside matches the public key', () => {
    const pair = generateCosignKeyPair(password);

    const opened = openWithLibsodium(pair.privateKeyPem, password);

    assert.equal(opened.status, 0, opened.stderr);
    const privateKey = createPrivateKey({ key: opened.der, format: 'der', type: 'pkcs8' });
    assert.equal(keyFingerprint(privateKey), keyFingerprint(loadPublicKey(pair.publicKeyPem)));
  });

  it('libsodium refuses a herd private key under a wrong password', () => {
    const pair = generateCosignKeyPair(password);

    const opened = openWithLibsodium(pair.privateKeyPem, 'not the password');

    assert.equal(opened.status, 3);
  });
});
