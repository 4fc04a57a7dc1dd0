/**
 * checkAdmission on a real store: which signatures and attestations count, whose they are, and for
 * which repository. The catalog is a plain view (released, not revoked, consistent).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LayoutStore } from '../oci/layout-store.js';
import { writeTar } from '../oci/tar.js';
import { type Digest, MediaType } from '../oci/types.js';
import type { RunTemplate } from '../specfile/run-template.js';
import { type CatalogView, checkAdmission } from './admission.js';
import {
  fileManifestPredicateType,
  gateVerdictPredicateType,
  runTemplatePredicateType,
} from './build-statements.js';
import { attestImage, signImage } from './image-signatures.js';
import { type InTotoStatement, inTotoStatement } from './in-toto-statement.js';
import { localRepository } from './signed-identity.js';

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const service = 'hello';

const template: RunTemplate = {
  version: 1,
  user: { uid: 65532, gid: 65532 },
  writable: [],
  writableRoot: false,
  capabilities: [],
  ports: [],
  entrypoint: ['/hello.txt'],
  cmd: [],
  env: [],
};

const released: CatalogView = {
  stageOf: () => 'candidate',
  revocation: () => undefined,
  inconsistency: async () => undefined,
};

async function writeImage(store: LayoutStore): Promise<Digest> {
  const data = Buffer.from('hello\n');
  const tar = writeTar([
    { path: 'hello.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, data },
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
  await store.addManifest(manifest, { refName: 'hello:1' });
  return manifest.digest;
}

function statements(digest: Digest, options: { passed: boolean }): InTotoStatement[] {
  const about = { name: service, digest };
  return [
    inTotoStatement(about, {
      predicateType: gateVerdictPredicateType,
      predicate: {
        image: digest,
        passed: options.passed,
        profile: 'strict',
        evaluatedAt: '2026-01-01T00:00:00Z',
      },
    }),
    inTotoStatement(about, { predicateType: fileManifestPredicateType, predicate: { entries: [] } }),
    inTotoStatement(about, { predicateType: runTemplatePredicateType, predicate: template }),
  ];
}

describe('checkAdmission and signatures', () => {
  let root: string;
  let store: LayoutStore;
  let digest: Digest;
  const admit = (publicKeys = [key.publicKey]) =>
    checkAdmission({ store, catalog: released, publicKeys }, { service, digest, template });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-admission-'));
    store = new LayoutStore(root);
    await store.init();
    digest = await writeImage(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('admits an image the trusted key signed for localhost/<service> and attested', async () => {
    await signImage(store, digest, { key: key.privateKey, identity: localRepository(service) });
    await attestImage(store, digest, {
      key: key.privateKey,
      statements: statements(digest, { passed: true }),
    });

    const decision = await admit();

    assert.deepEqual(decision, { admitted: true, stage: 'candidate', profile: 'strict' });
  });

  it('still admits it when another key signed and attested (a failed verdict) beside it', async () => {
    await signImage(store, digest, { key: key.privateKey, identity: localRepository(service) });
    await attestImage(store, digest, {
      key: key.privateKey,
      statements: statements(digest, { passed: true }),
    });
    await signImage(store, digest, { key: otherKey.privateKey, identity: localRepository(service) });
    await attestImage(store, digest, {
      key: otherKey.privateKey,
      statements: statements(digest, { passed: false }),
      replace: true,
    });

    const decision = await admit();

    assert.equal(decision.admitted, true, decision.admitted ? '' : decision.reason);
  });

  it('refuses an image signed only for another repository, naming it', async () => {
    for (const identity of ['registry.example/team/hello', localRepository('other')]) {
      await signImage(store, digest, { key: key.privateKey, identity });
    }
    await attestImage(store, digest, {
      key: key.privateKey,
      statements: statements(digest, { passed: true }),
    });

    const decision = await admit();

    assert.equal(decision.admitted, false);
    assert.equal(!decision.admitted && decision.code, 'UNSIGNED');
    assert.match(
      !decision.admitted ? decision.reason : '',
      /registry\.example\/team\/hello.*not for repository localhost\/hello/,
    );
  });

  it('does not take a verdict from a trusted key that did not sign the image', async () => {
    await signImage(store, digest, { key: key.privateKey, identity: localRepository(service) });
    const [verdict, ...rest] = statements(digest, { passed: true });
    await attestImage(store, digest, { key: key.privateKey, statements: rest });
    await attestImage(store, digest, { key: otherKey.privateKey, statements: verdict ? [verdict] : [] });

    const decision = await admit([key.publicKey, otherKey.publicKey]);

    assert.equal(!decision.admitted && decision.code, 'NOT_GATED');
  });

  it('refuses an image whose signing key did not attest its file manifest', async () => {
    await signImage(store, digest, { key: key.privateKey, identity: localRepository(service) });
    await attestImage(store, digest, {
      key: key.privateKey,
      statements: statements(digest, { passed: true }).filter(
        (s) => s.predicateType !== fileManifestPredicateType,
      ),
    });

    const decision = await admit();

    assert.equal(!decision.admitted && decision.code, 'UNSIGNED');
    assert.match(!decision.admitted ? decision.reason : '', new RegExp(fileManifestPredicateType));
  });
});
