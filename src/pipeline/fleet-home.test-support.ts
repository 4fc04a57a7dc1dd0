/**
 * A temporary HERD_HOME for the fleet use cases' tests: a store, herd.db (journal and catalog) and
 * one trusted key, with images written, signed, attested and released in it as `herd sign` and
 * `herd release` leave them. Only the keys and the verdict vary, so each refusal has its cause.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Catalog } from '../catalog/catalog.js';
import { template } from '../fleet/controller.test-support.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import { writeTar } from '../oci/tar.js';
import { type Digest, MediaType } from '../oci/types.js';
import type { RunTemplate } from '../specfile/run-template.js';
import { openStateDb } from '../state/open-state-db.js';
import {
  fileManifestPredicateType,
  gateVerdictPredicateType,
  runTemplatePredicateType,
} from '../trust/build-statements.js';
import { attestImage, signImage, verifyImage } from '../trust/image-signatures.js';
import { inTotoStatement } from '../trust/in-toto-statement.js';
import { localRepository } from '../trust/signed-identity.js';
import { trustKey } from '../trust/trusted-keys.js';
import type { PipelineState } from './parts.js';

export const service = 'web';
/** The run template every image here is signed with, and the fleet template that runs it. */
export const fleetTemplate = template({ size: 2 });
export const signedRun: RunTemplate = fleetTemplate.run;

export interface SigningChoices {
  /** Default: the key HERD_HOME trusts. */
  key?: KeyObject;
  /** The signed gate verdict; default passed. */
  passed?: boolean;
  /** The signed run template; default `signedRun`. */
  run?: RunTemplate;
}

export async function fleetHome() {
  const root = await mkdtemp(join(tmpdir(), 'herd-pipeline-'));
  const home = { root };
  const store = new LayoutStore(join(root, 'store'));
  await store.init();
  const db = openStateDb(join(root, 'herd.db'));
  const journal = new Journal(db, { clock: { now: () => Date.now() } });
  const state: PipelineState = { journal, catalog: new Catalog(journal), actor: 'local:control-plane' };
  const trusted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await trustKey(home, trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'release');

  /** An image of its own (one file holding `content`), unsigned. */
  const writeImage = async (content: string): Promise<Digest> => {
    const data = Buffer.from(content);
    const tar = writeTar([
      { path: 'content.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, data },
    ]);
    const layer = await store.putBlob(gzipSync(tar), MediaType.layerGzip);
    const config = await store.putJson(
      { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
      MediaType.imageConfig,
    );
    const manifest = await store.putJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [layer] },
      MediaType.imageManifest,
    );
    await store.addManifest(manifest, { refName: `${service}:${content}` });
    return manifest.digest;
  };

  /** Signs and attests as `herd sign` does: the verdict, the file manifest and the run template. */
  const sign = async (digest: Digest, choices: SigningChoices = {}): Promise<void> => {
    const key = choices.key ?? trusted.privateKey;
    const about = { name: service, digest };
    await signImage(store, digest, { key, identity: localRepository(service) });
    await attestImage(store, digest, {
      key,
      statements: [
        inTotoStatement(about, {
          predicateType: gateVerdictPredicateType,
          predicate: {
            image: digest,
            passed: choices.passed ?? true,
            profile: 'strict',
            evaluatedAt: '2026-01-01T00:00:00Z',
          },
        }),
        inTotoStatement(about, { predicateType: fileManifestPredicateType, predicate: { entries: [] } }),
        inTotoStatement(about, {
          predicateType: runTemplatePredicateType,
          predicate: choices.run ?? signedRun,
        }),
      ],
    });
  };

  /** Released at candidate; the catalog takes only a digest the trusted key signed. */
  const release = async (digest: Digest): Promise<void> => {
    await state.catalog.release(service, digest, {
      stage: 'candidate',
      actor: 'local:releaser',
      verifySignature: async (signed) => {
        await verifyImage(store, signed, { publicKeys: [trusted.publicKey] });
        return { ok: true };
      },
    });
  };

  /** An image admission takes: signed by the trusted key, gate passed, released. */
  const admissibleImage = async (content: string): Promise<Digest> => {
    const digest = await writeImage(content);
    await sign(digest);
    await release(digest);
    return digest;
  };

  return {
    home,
    store,
    db,
    state,
    writeImage,
    sign,
    release,
    admissibleImage,
    /** The journal's entries of one action. */
    entries: (action: string) => state.journal.list().filter((entry) => entry.action === action),
    async close() {
      db.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export type FleetHome = Awaited<ReturnType<typeof fleetHome>>;
