/**
 * Writable paths on the real engine (podman 4.3 + runc, started by ensureEngine): a `run.writable`
 * folder that a package already ships with a file in it (as nginx ships /var/lib/nginx) is, at
 * run time, a tmpfs the run user can write, still holding the package's file. The image's tree is
 * composed by the build's own composeRootfs from a real .deb, so the mount point's owner and mode
 * are the ones herd ships; the workload is a static C probe (test/support/writable-probe.c).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import { composeRootfs } from '../src/builder/compose-rootfs.js';
import { readDeb } from '../src/debian/deb.js';
import { DockerEngine } from '../src/engines/docker/docker-engine.js';
import { type EngineService, ensureEngine } from '../src/engines/docker/podman-service.js';
import type { InstanceSpec } from '../src/engines/engine.js';
import { exportOciArchive } from '../src/oci/archive-export.js';
import { sha256Digest } from '../src/oci/digest.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import { sortTarEntries, type TarEntry, writeTar } from '../src/oci/tar.js';
import { type Digest, type ImageConfig, type ImageManifest, MediaType } from '../src/oci/types.js';
import { parseSpecText } from '../src/specfile/load.js';
import { buildDeb, dirEntry, fileEntry } from './fixtures/deb-builder.js';

const execFileAsync = promisify(execFile);
const user = { uid: 65532, gid: 65532 };
const imageFileText = 'shipped by the package\n';

async function compileProbe(dir: string): Promise<Buffer> {
  if (spawnSync('sh', ['-c', 'command -v gcc']).status !== 0) {
    throw new Error('gcc is not installed: run scripts/setup.sh or apt-get install gcc libc6-dev');
  }
  const source = new URL('./support/writable-probe.c', import.meta.url).pathname;
  const output = join(dir, 'writable-probe');
  await execFileAsync('gcc', ['-static', '-O2', '-o', output, source]);
  return readFile(output);
}

let work: string;
let service: EngineService;
let engine: DockerEngine;
let docker: Docker;
let digest: Digest;
const repository = '127.0.0.1:1/writable-probe';

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'herd-writable-'));
  service = await ensureEngine({ stateDir: join(work, 'engine'), env: {} });
  engine = new DockerEngine({ socketPath: service.socketPath });
  docker = new Docker({ socketPath: service.socketPath });

  const spec = parseSpecText(
    `apiVersion: herd/v1
service: writable
image: { packages: [fixture] }
files:
  - { src: writable-probe, dst: /app/writable-probe, mode: 0755 }
run:
  entrypoint: [/app/writable-probe, /var/lib/app, keep]
  writable: [/var/lib/app, /tmp]
`,
    'herd.yaml',
  );
  // A real .deb shipping /var/lib/app root-owned 0755 with a file in it, as packages do.
  const deb = await readDeb(
    await buildDeb({
      files: [dirEntry('./var/lib/app/'), fileEntry('./var/lib/app/keep', imageFileText)],
    }),
    { name: 'fixture_1.0_amd64.deb' },
  );
  const tree = composeRootfs({
    spec,
    packages: [
      {
        locked: {
          name: 'fixture',
          version: '1.0',
          architecture: 'amd64',
          source: 'fixture',
          sourceVersion: '1.0',
          suite: 'bookworm',
          filename: 'pool/main/f/fixture/fixture_1.0_amd64.deb',
          size: 0,
          sha256: '0'.repeat(64),
          reason: 'requested',
        },
        deb,
      },
    ],
    appFiles: [{ dst: '/app/writable-probe', mode: 0o755, uid: 0, gid: 0, data: await compileProbe(work) }],
  });
  const entries: TarEntry[] = tree.sorted().map((node) => {
    const base = { path: node.path, mode: node.mode, uid: node.uid, gid: node.gid, mtime: 0 };
    if (node.type === 'file') {
      const data = node.data ?? Buffer.alloc(0);
      return { ...base, type: 'file', size: data.length, data };
    }
    if (node.type === 'symlink') return { ...base, type: 'symlink', size: 0, linkname: node.target ?? '' };
    return { ...base, type: 'dir', size: 0 };
  });
  const tar = writeTar(sortTarEntries(entries));
  const store = new LayoutStore(join(work, 'store'));
  await store.init();
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { User: `${user.uid}:${user.gid}`, Entrypoint: spec.run.entrypoint },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers: [layer],
  };
  const image = await store.putJson(manifest, MediaType.imageManifest);
  digest = image.digest;
  await store.addManifest(image, { refName: 'writable-probe:latest' });
  const archive = join(work, 'writable-probe.tar');
  await writeFile(archive, await exportOciArchive(store, digest, { refName: repository }));
  await engine.loadImage(archive);
});

after(async () => {
  const leftovers = await docker?.listContainers({ all: true }).catch(() => []);
  for (const container of leftovers ?? []) {
    await docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await service?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('writable paths on podman', () => {
  it('lets uid 65532 write a writable folder the image ships a file in, and keeps that file', async () => {
    const spec: InstanceSpec = {
      service: 'writable',
      revision: 'r1',
      digest,
      imageRef: `${repository}@${digest}`,
      user,
      env: {},
      writable: ['/var/lib/app', '/tmp'],
      resources: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, pids: 16 },
      stopGraceSeconds: 2,
    };
    const instance = await engine.create(spec);
    const result = (await docker.getContainer(instance.id).wait()) as { StatusCode: number };
    const logs = await engine.logs(instance.id);

    assert.match(logs, /folder mode=700 uid=65532 gid=65532/);
    assert.match(logs, new RegExp(`image file: ${imageFileText}`));
    assert.match(logs, /new file: created/);
    assert.equal(result.StatusCode, 0, logs);
  });
});
