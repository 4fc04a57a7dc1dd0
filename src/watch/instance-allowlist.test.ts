import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Instance } from '../engines/engine.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type TarEntry, writeTar } from '../oci/tar.js';
import { type Digest, MediaType } from '../oci/types.js';
import { baselineOf } from './baseline.js';
import { InstanceAllowlists } from './instance-allowlist.js';

const script = (path: string, text: string): TarEntry => {
  const data = Buffer.from(text);
  return { path, type: 'file', mode: 0o755, uid: 0, gid: 0, size: data.length, mtime: 0, data };
};
const folder = (path: string): TarEntry => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
});

describe('InstanceAllowlists', () => {
  let root: string;
  let store: LayoutStore;
  let digest: Digest;
  const baseline = baselineOf([
    { path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
    { path: '/usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
    { path: '/usr/bin/server', type: 'file', mode: 0o755, uid: 0, gid: 0, size: 20 },
    { path: '/usr/bin/sh', type: 'file', mode: 0o755, uid: 0, gid: 0, size: 4 },
  ]);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-allowlist-'));
    store = new LayoutStore(root);
    await store.init();
    const config = await store.putJson(
      {
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/usr/bin/server'], Env: ['PATH=/usr/bin'] },
        rootfs: { type: 'layers', diff_ids: [] },
      },
      MediaType.imageConfig,
    );
    const manifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] };
    digest = (await store.putJson(manifest, MediaType.imageManifest)).digest;
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function allowlistsReading(archive: TarEntry[]) {
    return new InstanceAllowlists({
      store,
      engine: { readPath: async () => Readable.from([writeTar(archive)]) },
      baselineOf: async () => ({ kind: 'trusted', baseline, keyFingerprint: 'test' }),
    });
  }

  it("adds the interpreter a program's #! line names", async () => {
    const allowlists = allowlistsReading([script('server', '#!/usr/bin/sh\nexec sleep\n')]);

    const list = await allowlists.of({ id: 'i1', digest } as Instance, undefined);

    assert.deepEqual([...(list?.executables ?? [])], ['/usr/bin/server', '/usr/bin/sh']);
  });

  it('reads no #! line from a file inside a folder put where the program was', async () => {
    const allowlists = allowlistsReading([folder('server/'), script('server/x', '#!/tmp/evil\n')]);

    const list = await allowlists.of({ id: 'i2', digest } as Instance, undefined);

    assert.deepEqual([...(list?.executables ?? [])], ['/usr/bin/server']);
  });
});
