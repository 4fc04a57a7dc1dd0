import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { igzipChunks, LayoutStore, sha256Digest, sortTarEntries, writeTar } from '../oci/index.js';
import { fileBytes, fileChunks, fileView } from './file-content.js';
import type { TreeNode } from './image-tree.js';
import { LayerCache } from './layer-cache.js';
import { writeLayer } from './write-layer.js';

const mtime = 1_700_000_000;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A package's data.tar stand-in on disk, and tree nodes whose bytes are ranges of it. */
async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'herd-write-layer-'));
  const big = Buffer.from(Array.from({ length: 700_000 }, (_, i) => (i * 7) % 256));
  const small = Buffer.from('small file\n');
  const tar = Buffer.concat([Buffer.alloc(512), big, small]);
  const dataTar = join(dir, 'pkg.data.tar');
  await writeFile(dataTar, tar);
  const node = (path: string, bytes: Buffer, offset: number): TreeNode => ({
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    owner: 'pkg',
    stored: { file: dataTar, offset, size: bytes.length, sha256: sha256(bytes) },
  });
  const nodes: TreeNode[] = [
    { path: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, owner: 'pkg' },
    node('usr/big', big, 512),
    node('usr/small', small, 512 + big.length),
    { path: 'usr/held', type: 'file', mode: 0o600, uid: 1, gid: 2, owner: 'herd', data: Buffer.from('held') },
    { path: 'usr/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, owner: 'pkg', target: 'big' },
  ];
  const store = new LayoutStore(join(dir, 'store'));
  await store.init();
  /** The layer as herd wrote it whole in memory before it streamed: the digests to match. */
  const whole = writeTar(
    sortTarEntries([
      { path: 'usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime },
      { path: 'usr/big', type: 'file', mode: 0o644, uid: 0, gid: 0, size: big.length, mtime, data: big },
      {
        path: 'usr/small',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: small.length,
        mtime,
        data: small,
      },
      {
        path: 'usr/held',
        type: 'file',
        mode: 0o600,
        uid: 1,
        gid: 2,
        size: 4,
        mtime,
        data: Buffer.from('held'),
      },
      { path: 'usr/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime, linkname: 'big' },
    ]),
  );
  return { dir, dataTar, tar, nodes, store, whole, plan: { comment: 'test', owners: ['pkg'], nodes } };
}

/** `data` as writeLayer gzips a layer, whole. */
async function igzipped(data: Buffer, level: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of igzipChunks([data], { level, name: 'test' })) out.push(chunk);
  return Buffer.concat(out);
}

describe('writeLayer', () => {
  it('streams the same layer, byte for byte, as the whole-buffer tar and gzip give', async () => {
    const { store, whole, plan } = await fixture();

    const layer = await writeLayer(plan, { store, mtime, level: 3 });

    const gz = await igzipped(whole, 3);
    assert.equal(layer.diffId, sha256Digest(whole));
    assert.equal(layer.tarSize, whole.length);
    assert.deepEqual(layer.descriptor, {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: sha256Digest(gz),
      size: gz.length,
    });
    assert.ok((await store.getBlob(layer.descriptor.digest)).equals(gz));
  });

  it('reuses a layer the cache remembers by diff_id, and compresses nothing', async () => {
    const { dir, store, plan } = await fixture();
    const layerCache = new LayerCache(join(dir, 'layers'));
    const first = await writeLayer(plan, { store, layerCache, mtime, level: 3 });
    // The same store, except that it fails the test if anything is written to it again.
    const readOnly = Object.create(store) as LayoutStore;
    readOnly.putBlobChunks = async () => assert.fail('the layer was compressed again');

    const again = await writeLayer(plan, { store: readOnly, layerCache, mtime, level: 3 });

    assert.deepEqual(again, first);
  });

  it('makes the tar once when the cache was empty as the build began, though it holds the build’s own layers now', async () => {
    const { dir, store, plan, nodes } = await fixture();
    const layerCache = new LayerCache(join(dir, 'layers'));
    // The build's first layer fills the cache, as an early layer does in a cold build.
    const other = { comment: 'other', owners: ['pkg'], nodes: nodes.slice(0, 2) };
    await writeLayer(other, { store, layerCache, layerCacheWasEmpty: true, mtime, level: 3 });
    assert.equal(await layerCache.isEmpty(), false);
    // Asking costs the tar made and hashed once more, only to miss: it must not be asked.
    const unasked = Object.create(layerCache) as LayerCache;
    unasked.lookup = async () => assert.fail('the cache was asked, so the tar was made twice');

    const layer = await writeLayer(plan, {
      store,
      layerCache: unasked,
      layerCacheWasEmpty: true,
      mtime,
      level: 3,
    });

    // Still remembered: the next build takes it without compressing.
    const readOnly = Object.create(store) as LayoutStore;
    readOnly.putBlobChunks = async () => assert.fail('the layer was compressed again');
    assert.deepEqual(await writeLayer(plan, { store: readOnly, layerCache, mtime, level: 3 }), layer);
  });

  it('does not reuse a layer the cache remembers compressed another way: a warm build gives the cold digest', async () => {
    const { dir, store, plan, whole } = await fixture();
    const layerCache = new LayerCache(join(dir, 'layers'));
    const atThree = await writeLayer(plan, { store, layerCache, mtime, level: 3 });

    const atOne = await writeLayer(plan, { store, layerCache, mtime, level: 1 });

    assert.equal(atOne.diffId, atThree.diffId);
    assert.notEqual(atOne.descriptor.digest, atThree.descriptor.digest);
    assert.equal(atOne.descriptor.digest, sha256Digest(await igzipped(whole, 1)));
  });

  it("takes a layer written early when its tar is this plan's, and compresses nothing", async () => {
    const { store, plan } = await fixture();
    const early = await writeLayer(plan, { store, mtime, level: 3 });
    const readOnly = Object.create(store) as LayoutStore;
    readOnly.putBlobChunks = async () => assert.fail('the layer was compressed again');

    const taken = await writeLayer(plan, { store: readOnly, early, mtime, level: 3 });

    assert.equal(taken, early);
  });

  it("compresses the plan's own layer when the one written early has another tar", async () => {
    const { store, plan, whole } = await fixture();
    // The guess held one folder more than the whole image gives this package.
    const guess = await writeLayer(
      {
        ...plan,
        nodes: [...plan.nodes, { path: 'usr/share', type: 'dir', mode: 0o755, uid: 0, gid: 0, owner: 'pkg' }],
      },
      { store, mtime, level: 3 },
    );

    const layer = await writeLayer(plan, { store, early: guess, mtime, level: 3 });

    assert.notEqual(layer.diffId, guess.diffId);
    assert.equal(layer.diffId, sha256Digest(whole));
    const gz = await igzipped(whole, 3);
    assert.equal(layer.descriptor.digest, sha256Digest(gz));
    assert.ok((await store.getBlob(layer.descriptor.digest)).equals(gz));
  });

  it('does not take a layer written early from a file of other content, even of the same size', async () => {
    const { store, plan } = await fixture();
    const other = plan.nodes.map((node) =>
      node.path === 'usr/held' ? { ...node, data: Buffer.from('HELD') } : node,
    );
    const guess = await writeLayer({ ...plan, nodes: other }, { store, mtime, level: 3 });

    const layer = await writeLayer(plan, { store, early: guess, mtime, level: 3 });

    assert.notEqual(layer.descriptor.digest, guess.descriptor.digest);
    assert.notEqual(layer.diffId, guess.diffId);
  });

  it('refuses bytes changed on disk after the package was read, and stores no layer', async () => {
    const { dataTar, tar, store, plan } = await fixture();
    const tampered = Buffer.from(tar);
    tampered[600] = (tampered[600] ?? 0) ^ 0xff;
    await writeFile(dataTar, tampered);

    await assert.rejects(writeLayer(plan, { store, mtime, level: 3 }), {
      code: 'CACHE_TAMPERED',
      message:
        /^\/usr\/big: its bytes in .*pkg\.data\.tar \(offset 512\) changed after herd read the package/,
    });
    assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), []);
  });
});

describe('file-content', () => {
  it('reads stored bytes whole, chunk by chunk, or by the page, all the same bytes', async () => {
    const { nodes } = await fixture();
    const big = nodes[1] as TreeNode;
    const chunks: Buffer[] = [];

    for await (const chunk of fileChunks(big)) chunks.push(chunk);

    const bytes = fileBytes(big);
    assert.ok(Buffer.concat(chunks).equals(bytes));
    assert.ok(fileView(big).slice(16_000, 50_000).equals(bytes.subarray(16_000, 50_000)));
    assert.equal(sha256(bytes), big.stored?.sha256);
  });

  it('refuses a stored file whose tar was cut short', async () => {
    const { dataTar, tar, nodes } = await fixture();
    await writeFile(dataTar, tar.subarray(0, 1000));

    assert.throws(() => fileBytes(nodes[2] as TreeNode), {
      code: 'CACHE_TAMPERED',
      message: /ends before offset/,
    });
  });
});
