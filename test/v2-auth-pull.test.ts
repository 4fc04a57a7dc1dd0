/**
 * `herd serve --v2-auth token` with a real engine: a podman service (started by ensureEngine in a
 * temp dir) pulls the probe image from herd's /v2/ on loopback. Without credentials podman is
 * refused; with the control plane's in-memory engine credential, sent as X-Registry-Auth by
 * DockerEngine, or with a viewer token, it pulls. A missing podman fails this test, never skips it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { SqliteTokenStore } from '../src/auth/token-store.js';
import { systemClock } from '../src/common/index.js';
import { DockerEngine } from '../src/engines/docker/docker-engine.js';
import { type EngineService, ensureEngine } from '../src/engines/docker/podman-service.js';
import type { EngineError } from '../src/engines/engine.js';
import { Journal } from '../src/journal/journal.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import { createApp } from '../src/server/app.js';
import { enginePullCredential } from '../src/server/engine-pull-credential.js';
import { type RunningServer, startServer } from '../src/server/node-server.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { type ProbeImages, writeProbeImages } from './support/probe-image.js';

describe('pulls from /v2/ that need a token, by podman', () => {
  let work: string;
  let service: EngineService | undefined;
  let server: RunningServer | undefined;
  let images: ProbeImages;
  let registry: string;
  let tokens: SqliteTokenStore;
  let pulls: ReturnType<typeof enginePullCredential>;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-v2-auth-'));
    service = await ensureEngine({ stateDir: join(work, 'engine'), env: {} });
    const store = new LayoutStore(join(work, 'store'));
    await store.init();
    images = await writeProbeImages(store);
    tokens = new SqliteTokenStore(new Journal(openStateDb(join(work, 'herd.db')), { clock: systemClock }));
    pulls = enginePullCredential(tokens);
    server = await startServer({ app: createApp({ store, pullTokens: pulls.verifier }), port: 0 });
    registry = new URL(server.url).host;
  });
  after(async () => {
    await server?.close();
    await service?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const engineWith = (registryAuth?: { username: string; password: string }) =>
    new DockerEngine({
      socketPath: service?.socketPath ?? '',
      ...(registryAuth ? { registryAuth: { ...registryAuth, serveraddress: registry } } : {}),
    });
  const image = (repository: string, digest = images.probe) => ({
    imageRef: `${registry}/${repository}@${digest}`,
    digest,
  });

  it('refuses a pull without credentials', async () => {
    await assert.rejects(engineWith().ensureImage(image('anonymous')), (error: EngineError) => {
      assert.equal(error.code, 'IMAGE');
      assert.match(error.message, /unauthorized|authentication required|401/i);
      return true;
    });
  });

  it("pulls with the control plane's own engine credential", async () => {
    const engine = engineWith(pulls.credential);

    await engine.ensureImage(image('engine'));

    const pulled = await new Docker({ socketPath: service?.socketPath ?? '' })
      .getImage(image('engine').imageRef)
      .inspect();
    assert.equal(
      pulled.RepoDigests?.some((d) => d.endsWith(images.probe)),
      true,
    );
  });

  it('pulls with a viewer token as the password, and not once it is revoked', async () => {
    const { token, info } = tokens.create({ role: 'viewer', name: 'puller', actor: 'test' });

    await engineWith({ username: 'anyone', password: token }).ensureImage(image('viewer', images.exiting));
    tokens.revoke(info.id, { actor: 'test' });

    await assert.rejects(
      engineWith({ username: 'anyone', password: token }).ensureImage(image('revoked', images.archived)),
      (error: EngineError) => error.code === 'IMAGE',
    );
  });
});
