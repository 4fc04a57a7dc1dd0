import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { layerTarOf } from './layer-tar.js';
import { writeTar } from './tar.js';
import { MediaType } from './types.js';

const digest = `sha256:${'1'.repeat(64)}` as const;
const tar = writeTar([{ path: 'etc/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 }]);

describe('layerTarOf', () => {
  it('passes a tar layer through and inflates an OCI or Docker gzip layer', async () => {
    const plain = await layerTarOf(tar, { digest, mediaType: MediaType.layerTar }, { maxBytes: 1 << 20 });
    const oci = await layerTarOf(
      gzipSync(tar),
      { digest, mediaType: MediaType.layerGzip },
      { maxBytes: 1 << 20 },
    );
    const docker = await layerTarOf(
      gzipSync(tar),
      { digest, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
      { maxBytes: 1 << 20 },
    );

    assert.ok(plain.equals(tar) && oci.equals(tar) && docker.equals(tar));
  });

  it('refuses a media type it cannot unpack as LAYER_UNSUPPORTED, naming the layer', async () => {
    const zstd = { digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' };

    await assert.rejects(layerTarOf(tar, zstd, { maxBytes: 1 << 20 }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'LAYER_UNSUPPORTED');
      assert.ok(error.message.includes(digest) && error.message.includes('tar+zstd'), error.message);
      return true;
    });
  });

  it('refuses a layer that inflates past the cap, and one that is not gzip', async () => {
    const bomb = gzipSync(Buffer.alloc(4 << 20));

    await assert.rejects(
      layerTarOf(bomb, { digest, mediaType: MediaType.layerGzip }, { maxBytes: 1 << 20 }),
      {
        code: 'DECOMPRESSED_TOO_LARGE',
      },
    );
    await assert.rejects(layerTarOf(tar, { digest, mediaType: MediaType.layerGzip }, { maxBytes: 1 << 20 }), {
      code: 'DECOMPRESS_FAILED',
    });
  });
});
