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
import { formatAgreement } from './journal-agreement.js';
import type { SignatureCheck } from './types.js';

const first: Digest = `sha256:${'a'.repeat(64)}`;
const second: Digest = `sha256:${'b'.repeat(64)}`;
const signed: SignatureCheck = async () => true;

function fakeClock(): Pick<Clock, 'now'> {
  let tick = 0;
  return { now: () => Date.UTC(2025, 0, 1) + 1000 * tick++ };
}

describe('Catalog.checkJournalAgreement', () => {
  let dir: string;
  let count = 0;
  const opened: Database[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-agreement-'));
  });
  after(async () => {
    for (const db of opened) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** web: first released to production and revoked, second released at candidate; a build between. */
  async function releasedAndRevoked(): Promise<{ catalog: Catalog; journal: Journal; db: Database }> {
    count += 1;
    const db = openStateDb(join(dir, `herd-${count}.db`));
    opened.push(db);
    const journal = new Journal(db, { clock: fakeClock() });
    const catalog = new Catalog(journal);
    await catalog.release('web', first, { stage: 'candidate', actor: 'ci', verifySignature: signed });
    await catalog.release('web', first, { stage: 'production', actor: 'ci', verifySignature: signed });
    journal.append({ actor: 'ci', action: 'build', service: 'web', digest: second });
    await catalog.release('web', second, { stage: 'candidate', actor: 'ci', verifySignature: signed });
    catalog.revoke('web', first, { reason: 'CVE-2025-0001', actor: 'sec' });
    return { catalog, journal, db };
  }

  it('agrees when every write went through the catalog', async () => {
    const { catalog } = await releasedAndRevoked();

    const result = catalog.checkJournalAgreement();

    assert.deepEqual(result, { ok: true, releases: 3, revocations: 1 });
    assert.deepEqual(formatAgreement(result), ['catalog agrees with the journal: 3 releases, 1 revocation']);
  });

  it('names the digest and the journal entry of a deleted revocation', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec('DROP TRIGGER catalog_revocation_no_delete; DELETE FROM catalog_revocation;');

    const result = catalog.checkJournalAgreement();
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.disagreements, [
      {
        journalId: 5,
        digest: first,
        reason: `journal entry 5 revoked ${first} for web, but the catalog no longer holds that revocation (row deleted from catalog_revocation)`,
      },
    ]);
    assert.equal(catalog.isRevoked(first), false, 'the deletion took effect, which is what is being caught');
  });

  it('names a deleted release, which would otherwise hand current() an older digest', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec('DROP TRIGGER catalog_release_no_delete; DELETE FROM catalog_release WHERE journal_id = 4;');

    const result = catalog.checkJournalAgreement();
    assert.equal(!result.ok && result.disagreements.length, 1);
    assert.match(
      !result.ok ? result.disagreements[0]!.reason : '',
      /journal entry 4 released sha256:b{64} for web at candidate, but the catalog no longer holds that release/,
    );
  });

  it('names a revocation moved to another digest', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec(`DROP TRIGGER catalog_revocation_no_update; UPDATE catalog_revocation SET digest = '${second}';`);

    const result = catalog.checkJournalAgreement();
    assert.deepEqual(!result.ok && result.disagreements.map((d) => [d.journalId, d.digest]), [[5, second]]);
    assert.match(!result.ok ? result.disagreements[0]!.reason : '', new RegExp(`which records web ${first}`));
  });

  it('names a release row forged to cite an entry that is not a release', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec(
      `INSERT INTO catalog_release (service, digest, stage, actor, at, journal_id)
       VALUES ('web', '${second}', 'production', 'mallory', '2025-01-01T00:00:00.000Z', 3)`,
    );

    const result = catalog.checkJournalAgreement();
    assert.deepEqual(!result.ok && result.disagreements.map((d) => d.reason), [
      `release of ${second} for web at production cites journal entry 3, which records a build`,
    ]);
  });

  it('names a release row forged to cite an entry that does not exist', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec(
      `PRAGMA foreign_keys = OFF;
       INSERT INTO catalog_release (service, digest, stage, actor, at, journal_id)
       VALUES ('web', '${second}', 'production', 'mallory', '2025-01-01T00:00:00.000Z', 99);
       PRAGMA foreign_keys = ON;`,
    );

    const result = catalog.checkJournalAgreement();
    assert.match(
      !result.ok ? result.disagreements[0]!.reason : '',
      /cites journal entry 99, which does not exist/,
    );
  });

  it('names a promotion whose journal entry was edited to match, by its hash', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec(
      `DROP TRIGGER catalog_release_no_update; DROP TRIGGER journal_no_update;
       UPDATE catalog_release SET stage = 'production' WHERE journal_id = 4;
       UPDATE journal SET details = '{"previousStage":null,"stage":"production"}' WHERE id = 4;`,
    );

    const result = catalog.checkJournalAgreement();
    assert.deepEqual(!result.ok && result.disagreements.map((d) => d.reason), [
      `release of ${second} for web at production cites journal entry 4, whose hash does not match its content (row edited)`,
    ]);
  });

  it('hashes again only the entries after a checkpoint that vouches for the rest', async () => {
    const { catalog, db } = await releasedAndRevoked();

    db.exec(
      `DROP TRIGGER catalog_release_no_update; DROP TRIGGER journal_no_update;
       UPDATE catalog_release SET stage = 'production' WHERE journal_id = 4;
       UPDATE journal SET details = '{"previousStage":null,"stage":"production"}' WHERE id = 4;`,
    );

    assert.equal(catalog.checkJournalAgreement({ anchoredThrough: 3 }).ok, false);
    assert.equal(catalog.checkJournalAgreement({ anchoredThrough: 4 }).ok, true);
  });

  it('changes the digest through a sequence when a row at or before it is deleted, and only then', async () => {
    const { catalog, journal, db } = await releasedAndRevoked();
    const before = catalog.digestThrough(5);
    const beforeFour = catalog.digestThrough(4);
    journal.append({ actor: 'ci', action: 'build' });
    await catalog.release('api', second, { stage: 'candidate', actor: 'ci', verifySignature: signed });

    const unchanged = catalog.digestThrough(5);
    // Hide the revocation in the journal too: the agreement check no longer sees it, the digest does.
    db.exec(
      `DROP TRIGGER catalog_revocation_no_delete; DROP TRIGGER journal_no_update;
       DELETE FROM catalog_revocation; UPDATE journal SET action = 'build' WHERE id = 5;`,
    );

    assert.match(before, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(before, beforeFour);
    assert.equal(unchanged, before);
    assert.equal(catalog.checkJournalAgreement().ok, true);
    assert.notEqual(catalog.digestThrough(5), before);
  });
});
