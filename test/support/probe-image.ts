/**
 * The engine tests' workload: probe-server.c compiled with `gcc -static` at test time, put as the
 * only file of a one-layer OCI image into a herd LayoutStore. Two images share that layer: `probe`
 * serves HTTP on 8080, and `probe-exit` has EXIT_AT_ONCE=1 in its config, so it exits with 1.
 * Both run as 65532:65532 and have a /tmp mount point for a tmpfs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from '../../src/oci/digest.js';
import type { LayoutStore } from '../../src/oci/layout-store.js';
import { writeTar } from '../../src/oci/tar.js';
import {
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageManifest,
  MediaType,
} from '../../src/oci/types.js';

const execFileAsync = promisify(execFile);

export const probeUser = { uid: 65532, gid: 65532 } as const;
export const probePort = 8080;
/** The line probe-server prints once it listens. */
export const probeListeningText = `probe listening on :${probePort}`;

export interface ProbeImages {
  /** Serves HTTP on 8080 until SIGTERM. */
  probe: Digest;
  /** Exits with code 1 at once. */
  exiting: Digest;
  /** Like `probe`, with GREETING=from the archive in its config. */
  archived: Digest;
}

export const archivedGreeting = 'from the archive';

/** Compiles probe-server.c statically; fails with what to install when gcc or libc.a is missing. */
export async function compileProbeServer(): Promise<Buffer> {
  if (spawnSync('sh', ['-c', 'command -v gcc']).status !== 0) {
    throw new Error('gcc is not installed: run scripts/setup.sh or apt-get install gcc libc6-dev');
  }
  const dir = await mkdtemp(join(tmpdir(), 'herd-probe-'));
  try {
    const source = new URL('./probe-server.c', import.meta.url).pathname;
    const output = join(dir, 'probe-server');
    try {
      await execFileAsync('gcc', ['-static', '-O2', '-pthread', '-o', output, source]);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`gcc -static failed (is libc6-dev installed?): ${stderr}`);
    }
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes the three probe images into `store`, named `probe`, `probe-exit` and `probe-archive` (tag latest). */
export async function writeProbeImages(store: LayoutStore): Promise<ProbeImages> {
  const binary = await compileProbeServer();
  const tar = writeTar([
    {
      path: 'probe-server',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: binary.length,
      mtime: 0,
      data: binary,
    },
    { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: 0 },
  ]);
  const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
  const diffId = sha256Digest(tar);
  const probe = await writeImage(store, layer, diffId, []);
  const exiting = await writeImage(store, layer, diffId, ['EXIT_AT_ONCE=1']);
  const archived = await writeImage(store, layer, diffId, [`GREETING=${archivedGreeting}`]);
  await store.addManifest(probe, { refName: 'probe:latest' });
  await store.addManifest(exiting, { refName: 'probe-exit:latest' });
  await store.addManifest(archived, { refName: 'probe-archive:latest' });
  return { probe: probe.digest, exiting: exiting.digest, archived: archived.digest };
}

async function writeImage(store: LayoutStore, layer: Descriptor, diffId: Digest, env: string[]) {
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: `${probeUser.uid}:${probeUser.gid}`,
      ExposedPorts: { [`${probePort}/tcp`]: {} },
      Env: ['PATH=/', ...env],
      Entrypoint: ['/probe-server'],
      StopSignal: 'SIGTERM',
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(config, MediaType.imageConfig),
    layers: [layer],
  };
  return store.putJson(manifest, MediaType.imageManifest);
}
