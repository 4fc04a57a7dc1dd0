import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import { Catalog } from '../catalog/catalog.js';
import { Journal } from '../journal/journal.js';
import type { Digest } from '../oci/types.js';
import { openStateDb } from '../state/open-state-db.js';
import { signEnvelope } from './dsse.js';
import {
  type AnchorCheck,
  anchorJournal,
  catalogInconsistency,
  checkAnchor,
  unlockCheckpointSigner,
} from './journal-anchor.js';
import { signJournalCheckpoint } from './journal-checkpoint.js';
import { localKeyPasswordFile, writeCosignKeyPair } from './key-files.js';
import { LocalKeySigner } from './signer.js';

const digest: Digest = `sha256:${'d'.repeat(64)}`;

function p256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

describe('the journal anchor', () => {
  const herdKey = p256();
  const signer = new LocalKeySigner(herdKey.privateKey);
  const publicKeys = [herdKey.publicKey];
  let dir: string;
  let count = 0;
  const opened: Database[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-anchor-'));
  });
  after(async () => {
    for (const db of opened) if (db.open) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  interface State {
    journal: Journal;
    catalog: Catalog;
    db: Database;
    path: string;
  }

  function stateAt(dbPath: string, checkpointPath: string): State {
    const db = openStateDb(dbPath);
    opened.push(db);
    const journal = new Journal(db, { clock: { now: () => Date.parse('2025-01-01T00:00:00Z') } });
    return { journal, catalog: new Catalog(journal), db, path: checkpointPath };
  }

  /** A fresh herd.db with `entries` builds, a release and a revocation of `digest` among them. */
  async function journaled(entries = 4): Promise<State> {
    count += 1;
    const state = stateAt(join(dir, `herd-${count}.db`), join(dir, `journal-${count}.checkpoint`));
    await state.catalog.release('web', digest, {
      stage: 'candidate',
      actor: 'ci',
      verifySignature: async () => true,
    });
    state.catalog.revoke('web', digest, { reason: 'CVE-2025-0002', actor: 'sec' });
    for (let i = 2; i < entries; i += 1)
      state.journal.append({ actor: 'ci', action: 'build', details: { i } });
    return state;
  }

  const anchor = (state: State, options: { signer?: LocalKeySigner } = {}) =>
    anchorJournal(state, {
      path: state.path,
      signer: options.signer ?? signer,
      publicKeys,
      now: () => new Date('2025-02-01T00:00:00Z'),
    });

  const check = (state: State): Promise<AnchorCheck> => checkAnchor(state, { path: state.path, publicKeys });

  function divergence(result: AnchorCheck): string {
    assert.equal(result.kind, 'diverged', JSON.stringify(result));
    return result.kind === 'diverged' ? result.reason : '';
  }

  it('signs the head into a private file, which the journal then extends', async () => {
    const state = await journaled(4);

    const outcome = await anchor(state);

    assert.equal(outcome.kind, 'written');
    assert.deepEqual(outcome.kind === 'written' && outcome.checkpoint, {
      sequence: 4,
      hash: state.journal.head()?.hash,
      time: '2025-02-01T00:00:00.000Z',
      catalog: state.catalog.digestThrough(4),
    });
    assert.equal((await stat(state.path)).mode & 0o777, 0o600);
    const checked = await check(state);
    assert.equal(checked.kind, 'anchored');
    assert.equal(checked.kind === 'anchored' && checked.verified.checkpoint.sequence, 4);
  });

  it('signs again only when the head has moved', async () => {
    const state = await journaled(4);
    await anchor(state);

    const same = await anchor(state);
    state.journal.append({ actor: 'ci', action: 'build' });
    const moved = await anchor(state);

    assert.equal(same.kind, 'unchanged');
    assert.equal(moved.kind === 'written' && moved.checkpoint.sequence, 5);
  });

  it('catches a tail cut off with the head moved back, and will not sign over it', async () => {
    const state = await journaled(6);
    await anchor(state);
    const before = await readFile(state.path);

    state.db.exec(`DROP TRIGGER journal_no_delete; DROP TRIGGER journal_head_forward_only;
      DELETE FROM journal WHERE id > 4;
      UPDATE journal_head SET last_id = 4, hash = (SELECT hash FROM journal WHERE id = 4);`);

    assert.equal(state.journal.verify().ok, true, 'the chain alone cannot see it');
    assert.match(
      divergence(await check(state)),
      /the journal ends at entry 4, but its checkpoint records 6 entries/,
    );
    const refused = await anchor(state);
    assert.equal(refused.kind, 'refused');
    assert.deepEqual(await readFile(state.path), before);
  });

  it('catches a journal rewritten with every hash recomputed', async () => {
    const original = await journaled(5);
    await anchor(original);
    // Another herd.db of the same length, put in its place: a chain that checks, with other entries.
    const forged = stateAt(join(dir, `forged-${count}.db`), original.path);
    for (let i = 0; i < 5; i += 1)
      forged.journal.append({ actor: 'mallory', action: 'build', details: { i } });

    assert.equal(forged.journal.verify().ok, true);
    assert.match(divergence(await check(forged)), /entry 5 has hash [0-9a-f]{16}…, its checkpoint signed/);
  });

  it('catches an emptied journal (herd.db deleted and made again)', async () => {
    const original = await journaled(3);
    await anchor(original);

    const fresh = stateAt(join(dir, `fresh-${count}.db`), original.path);

    assert.match(
      divergence(await check(fresh)),
      /the journal is empty, but its checkpoint records 3 entries/,
    );
  });

  it('catches a revocation deleted and hidden in the journal too, through the catalog digest', async () => {
    const state = await journaled(4);
    await anchor(state);

    state.db.exec(`DROP TRIGGER catalog_revocation_no_delete; DROP TRIGGER journal_no_update;
      DELETE FROM catalog_revocation; UPDATE journal SET action = 'build' WHERE action = 'revoke';`);

    assert.equal(state.catalog.checkJournalAgreement().ok, true, 'the agreement alone cannot see it');
    assert.match(
      divergence(await check(state)),
      /releases and revocations journaled up to entry 4 are not the ones/,
    );
    assert.match(
      (await catalogInconsistency(state, { path: state.path, publicKeys })) ?? '',
      /does not extend its checkpoint .*a catalog row was deleted or edited/,
    );
  });

  it('names the deleted revocation when the journal still records it', async () => {
    const state = await journaled(4);
    await anchor(state);
    assert.equal(await catalogInconsistency(state, { path: state.path, publicKeys }), undefined);

    state.db.exec('DROP TRIGGER catalog_revocation_no_delete; DELETE FROM catalog_revocation;');

    assert.equal(
      await catalogInconsistency(state, { path: state.path, publicKeys }),
      `the catalog disagrees with the journal at entry 2: journal entry 2 revoked ${digest} for web, but the catalog no longer holds that revocation (row deleted from catalog_revocation)`,
    );
  });

  it('refuses a checkpoint signed by a key that is not trusted', async () => {
    const state = await journaled(3);
    const head = state.journal.head()!;
    const forged = signJournalCheckpoint(
      {
        sequence: head.lastId,
        hash: head.hash,
        time: '2025-02-01T00:00:00.000Z',
        catalog: state.catalog.digestThrough(3),
      },
      p256().privateKey,
    );
    await writeFile(state.path, JSON.stringify(forged));

    const result = await check(state);

    assert.equal(result.kind, 'invalid');
    assert.match(
      result.kind === 'invalid' ? result.reason : '',
      /is not signed by any of the 1 trusted keys/,
    );
  });

  it('refuses a checkpoint whose payload was edited after signing', async () => {
    const state = await journaled(3);
    await anchor(state);
    const envelope = JSON.parse(await readFile(state.path, 'utf8'));
    const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    envelope.payload = Buffer.from(JSON.stringify({ ...payload, sequence: 1 })).toString('base64');
    await writeFile(state.path, JSON.stringify(envelope));

    const result = await check(state);

    assert.equal(result.kind, 'invalid');
  });

  it('refuses an attestation signed by the trusted key in place of a checkpoint', async () => {
    const state = await journaled(3);
    const attestation = signEnvelope(
      { _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: {} },
      herdKey.privateKey,
    );
    await writeFile(state.path, JSON.stringify(attestation));

    const result = await check(state);

    assert.match(
      result.kind === 'invalid' ? result.reason : '',
      /has payload type application\/vnd\.in-toto\+json, expected/,
    );
  });

  it('refuses a checkpoint file holding garbage, naming the file', async () => {
    const state = await journaled(3);
    await writeFile(state.path, 'not json at all');

    const result = await check(state);

    assert.match(
      result.kind === 'invalid' ? result.reason : '',
      new RegExp(`journal checkpoint ${state.path} is not a dsse envelope`),
    );
  });

  it('will not sign with a key that is not trusted, since nobody could verify it', async () => {
    const state = await journaled(3);

    const outcome = await anchor(state, { signer: new LocalKeySigner(p256().privateKey) });

    assert.equal(outcome.kind, 'refused');
  });

  it('says there is no anchor yet, and has nothing to sign for an empty journal', async () => {
    count += 1;
    const state = stateAt(join(dir, `empty-${count}.db`), join(dir, `empty-${count}.checkpoint`));

    assert.deepEqual(await check(state), { kind: 'none' });
    assert.deepEqual(await anchor(state), { kind: 'empty' });
  });
});

describe('unlockCheckpointSigner', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'herd-anchor-key-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('says why there is no signer: no key, no password, a wrong password', async () => {
    const none = await unlockCheckpointSigner({ root: home }, {});
    await writeCosignKeyPair({ root: home }, { password: 'correct horse' });
    const noPassword = await unlockCheckpointSigner({ root: home }, {});
    const wrong = await unlockCheckpointSigner({ root: home }, { HERD_KEY_PASSWORD: 'wrong' });

    assert.match('unavailable' in none ? none.unavailable : '', /no signing key at .*cosign\.key/);
    assert.match('unavailable' in noPassword ? noPassword.unavailable : '', /HERD_KEY_PASSWORD is not set/);
    assert.ok('unavailable' in wrong);
  });

  it('unlocks with HERD_KEY_PASSWORD, or with the local password file', async () => {
    const withEnv = await unlockCheckpointSigner({ root: home }, { HERD_KEY_PASSWORD: 'correct horse' });
    await writeFile(localKeyPasswordFile({ root: home }), 'correct horse\n', { mode: 0o600 });
    const withFile = await unlockCheckpointSigner({ root: home }, {});

    assert.ok('signer' in withEnv);
    assert.ok('signer' in withFile);
  });
});
