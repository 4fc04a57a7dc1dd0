/**
 * A temporary HERD_HOME for the supply-chain use cases' tests (lock, build and gate, sign, release,
 * push and pull): a store with its caches, herd.db (journal and catalog) on a fake clock, a logger
 * and progress that remember what they were told; and a signed apt repository served on 127.0.0.1
 * with a two-package image that passes the gate.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAptRepo, type FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { DebCache, UnpackedDebCache } from '../builder/deb-cache.js';
import { LayerCache } from '../builder/layer-cache.js';
import { silentProgress } from '../builder/progress.js';
import { sourcesForSpec } from '../builder/resolve-lock.js';
import { Catalog } from '../catalog/catalog.js';
import { FakeClock } from '../common/clock.test-support.js';
import { HttpFetcher } from '../debian/fetcher.js';
import { herdHome } from '../herd-home.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import { loadSpec } from '../specfile/load.js';
import { openStateDb } from '../state/open-state-db.js';
import type { BuildParts } from './build-and-gate.js';
import type { SpecInputs } from './lock.js';
import type { PipelineState } from './parts.js';

export const actor = 'local:tester';

export async function supplyChainHome() {
  const root = await mkdtemp(join(tmpdir(), 'herd-pipeline-'));
  const home = herdHome({ HERD_HOME: root });
  const store = new LayoutStore(home.store);
  await store.init();
  const db = openStateDb(home.stateDb);
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const journal = new Journal(db, { clock });
  const state: PipelineState = { journal, catalog: new Catalog(journal), actor };
  const warnings: string[] = [];
  const steps: string[] = [];
  const parts: BuildParts = {
    home,
    store,
    state,
    clock,
    logger: { debug() {}, warn: (_meta, message) => warnings.push(message) },
    progress: { ...silentProgress, step: (message) => steps.push(message) },
    debCache: new DebCache(home.debCache),
    layerCache: new LayerCache(home.layerCache),
    unpackedCache: new UnpackedDebCache(home.unpackedCache, { sealKey: home.cacheSealKey }),
  };
  return {
    home,
    store,
    state,
    parts,
    /** What the logger was told to warn about, and the progress steps, in order. */
    warnings,
    steps,
    /** The journal's entries of one action. */
    entries: (action: string) => journal.list().filter((entry) => entry.action === action),
    async close() {
      db.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export type SupplyChainHome = Awaited<ReturnType<typeof supplyChainHome>>;

/**
 * A signed archive with base-files and one program: an image of them passes the baseline gate. It
 * also serves openssh-server, which fails it (a remote shell has no place in a golden image).
 */
export async function tinyArchive(): Promise<FixtureRepo> {
  return createAptRepo({
    dir: await mkdtemp(join(tmpdir(), 'herd-repo-')),
    suites: [{ name: 'test' }],
    packages: [
      {
        name: 'base-files',
        version: '12.4',
        files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
      },
      { name: 'tiny-bin', version: '1.0', files: [{ path: 'usr/bin/tiny', content: 'tiny\n', mode: 0o755 }] },
      {
        name: 'openssh-server',
        version: '1:9.2p1-2',
        files: [{ path: 'usr/sbin/sshd', content: 'sshd', mode: 0o755 }],
      },
    ],
  });
}

/** A spec directory for service `tiny` over the archive, opened as the CLI opens one. */
export async function tinySpec(repo: FixtureRepo, packages = ['tiny-bin']): Promise<SpecInputs> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-spec-'));
  await writeFile(
    join(dir, 'herd.yaml'),
    `apiVersion: herd/v1
service: tiny
image:
  suites: [test]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [${packages.join(', ')}]
`,
  );
  const loaded = await loadSpec(dir);
  return {
    loaded,
    lockPath: join(dir, 'herd.lock'),
    sources: sourcesForSpec(loaded),
    fetcher: new HttpFetcher(),
  };
}
