import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import type { Clock } from '../common/index.js';
import { Journal } from '../journal/journal.js';
import type { Digest } from '../oci/types.js';
import { openStateDb } from '../state/open-state-db.js';
import { Catalog } from './catalog.js';
import type { CatalogError } from './errors.js';
import type { SignatureCheck } from './types.js';

const signed: Digest = `sha256:${'a'.repeat(64)}`;
const newer: Digest = `sha256:${'b'.repeat(64)}`;
const unsigned: Digest = `sha256:${'c'.repeat(64)}`;

/** Stands in for src/trust: only `signed` and `newer` carry a valid signature. */
const verifySignature: SignatureCheck = async (digest) =>
  digest === unsigned ? { ok: false, reason: 'no signature found' } : true;

function fakeClock(): Pick<Clock, 'now'> {
  let tick = 0;
  return { now: () => Date.UTC(2025, 0, 1) + 1000 * tick++ };
}

describe('Catalog', () => {
  let dir: string;
  let count = 0;
  const opened: Database[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-catalog-'));
  });
  after(async () => {
    for (const db of opened) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function freshCatalog(): { catalog: Catalog; journal: Journal } {
    count += 1;
    const db = openStateDb(join(dir, `herd-${count}.db`));
    opened.push(db);
    const journal = new Journal(db, { clock: fakeClock() });
    return { catalog: new Catalog(journal), journal };
  }

  it('refuses an unsigned digest, naming it, and writes nothing', async () => {
    const { catalog, journal } = freshCatalog();

    await assert.rejects(
      catalog.release('web', unsigned, { stage: 'candidate', actor: 'ci', verifySignature }),
      (error: CatalogError) => error.code === 'UNSIGNED' && error.message.includes(unsigned),
    );

    assert.deepEqual(catalog.entries(), []);
    assert.deepEqual(journal.list(), []);
  });

  it('treats a plain false from the signature check as unsigned', async () => {
    const { catalog } = freshCatalog();

    await assert.rejects(
      catalog.release('web', signed, { stage: 'candidate', actor: 'ci', verifySignature: async () => false }),
      (error: CatalogError) => error.code === 'UNSIGNED',
    );
  });

  it('promotes a digest forward and journals each step', async () => {
    const { catalog, journal } = freshCatalog();
    const options = { actor: 'ci', verifySignature };

    const candidate = await catalog.release('web', signed, { ...options, stage: 'candidate' });
    const accepted = await catalog.release('web', signed, { ...options, stage: 'accepted' });
    const production = await catalog.release('web', signed, { ...options, stage: 'production' });

    assert.deepEqual([candidate.kind, accepted.kind, production.kind], ['released', 'released', 'released']);
    assert.equal(catalog.current('web', 'production')?.digest, signed);
    assert.deepEqual(
      catalog.entries('web').map((entry) => [entry.digest, entry.stage]),
      [[signed, 'production']],
    );
    const entries = journal.list();
    assert.deepEqual(
      entries.map((entry) => [entry.action, entry.service, entry.digest, entry.details]),
      [
        ['release', 'web', signed, { stage: 'candidate', previousStage: null }],
        ['release', 'web', signed, { stage: 'accepted', previousStage: 'candidate' }],
        ['release', 'web', signed, { stage: 'production', previousStage: 'accepted' }],
      ],
    );
    assert.equal(production.kind === 'released' && production.release.at, entries[2]?.at);
    assert.deepEqual(journal.verify(), { ok: true, count: 3 });
  });

  it('changes nothing when a digest is released again at its stage', async () => {
    const { catalog, journal } = freshCatalog();
    await catalog.release('web', signed, { stage: 'accepted', actor: 'ci', verifySignature });

    const again = await catalog.release('web', signed, { stage: 'accepted', actor: 'ci', verifySignature });

    assert.equal(again.kind, 'unchanged');
    assert.equal(journal.list().length, 1);
  });

  it('refuses to move a digest back a stage', async () => {
    const { catalog, journal } = freshCatalog();
    await catalog.release('web', signed, { stage: 'production', actor: 'ci', verifySignature });

    await assert.rejects(
      catalog.release('web', signed, { stage: 'candidate', actor: 'ci', verifySignature }),
      (error: CatalogError) => error.code === 'STAGE_INVALID',
    );
    assert.equal(journal.list().length, 1);
  });

  it('never releases a revoked digest again, under any service', async () => {
    const { catalog, journal } = freshCatalog();
    await catalog.release('web', signed, { stage: 'production', actor: 'ci', verifySignature });

    const revoked = catalog.revoke('web', signed, { reason: 'CVE-2025-0001 in openssl', actor: 'sec' });

    assert.equal(revoked.kind, 'revoked');
    assert.equal(catalog.isRevoked(signed), true);
    for (const service of ['web', 'api']) {
      await assert.rejects(
        catalog.release(service, signed, { stage: 'production', actor: 'ci', verifySignature }),
        (error: CatalogError) => error.code === 'REVOKED' && error.message.includes(signed),
      );
    }
    assert.deepEqual(
      journal.list().map((entry) => [entry.action, entry.details]),
      [
        ['release', { stage: 'production', previousStage: null }],
        ['revoke', { reason: 'CVE-2025-0001 in openssl', stage: 'production' }],
      ],
    );
  });

  it('skips a revoked digest when naming the current release of a stage', async () => {
    const { catalog } = freshCatalog();
    await catalog.release('web', signed, { stage: 'production', actor: 'ci', verifySignature });
    await catalog.release('web', newer, { stage: 'production', actor: 'ci', verifySignature });
    assert.equal(catalog.current('web', 'production')?.digest, newer);

    catalog.revoke('web', newer, { reason: 'crashes on start', actor: 'ops' });

    assert.equal(catalog.current('web', 'production')?.digest, signed);
    assert.equal(catalog.current('web', 'candidate'), undefined);
    assert.deepEqual(
      catalog.entries('web').map((entry) => [entry.digest, entry.revoked?.reason]),
      [
        [signed, undefined],
        [newer, 'crashes on start'],
      ],
    );
  });

  it('revokes once: a second revoke changes nothing and journals nothing', async () => {
    const { catalog, journal } = freshCatalog();
    await catalog.release('web', signed, { stage: 'candidate', actor: 'ci', verifySignature });
    catalog.revoke('web', signed, { reason: 'bad build', actor: 'sec' });

    const again = catalog.revoke('web', signed, { reason: 'still bad', actor: 'sec' });

    assert.equal(again.kind, 'unchanged');
    assert.equal(again.revocation.reason, 'bad build');
    assert.equal(journal.list().length, 2);
  });

  it('refuses to revoke a digest the service never released', () => {
    const { catalog, journal } = freshCatalog();

    assert.throws(
      () => catalog.revoke('web', signed, { reason: 'typo?', actor: 'sec' }),
      (error: CatalogError) => error.code === 'NOT_FOUND' && error.message.includes(signed),
    );
    assert.equal(journal.list().length, 0);
  });

  it('refuses a release whose digest was revoked while its signature was being checked', async () => {
    const { catalog } = freshCatalog();
    await catalog.release('web', signed, { stage: 'candidate', actor: 'ci', verifySignature });
    const slowCheck: SignatureCheck = async () => {
      catalog.revoke('web', signed, { reason: 'revoked meanwhile', actor: 'sec' });
      return true;
    };

    await assert.rejects(
      catalog.release('web', signed, { stage: 'accepted', actor: 'ci', verifySignature: slowCheck }),
      (error: CatalogError) => error.code === 'REVOKED',
    );
  });

  it('rolls the journal entry back when the catalog write fails', async () => {
    const { catalog, journal } = freshCatalog();
    journal.db.exec('DROP TABLE catalog_release');

    await assert.rejects(
      catalog.release('web', signed, { stage: 'candidate', actor: 'ci', verifySignature }),
    );

    assert.deepEqual(journal.list(), []);
    assert.deepEqual(journal.verify(), { ok: true, count: 0 });
  });

  it('tells the history of a service in journal order', async () => {
    const { catalog } = freshCatalog();
    await catalog.release('web', signed, { stage: 'candidate', actor: 'ci', verifySignature });
    await catalog.release('api', newer, { stage: 'candidate', actor: 'ci', verifySignature });
    await catalog.release('web', newer, { stage: 'candidate', actor: 'ci', verifySignature });
    catalog.revoke('api', newer, { reason: 'bad', actor: 'sec' });

    const history = catalog.history('web');

    assert.deepEqual(
      history.map((event) => [event.kind, event.digest, event.service]),
      [
        ['release', signed, 'web'],
        ['release', newer, 'web'],
        ['revoke', newer, 'api'],
      ],
    );
  });
});
