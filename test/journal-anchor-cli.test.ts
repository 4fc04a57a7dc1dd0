/**
 * The catalog against the journal, and both against the signed checkpoint, through the real CLI on
 * an image built from a signed local repository, signed, released and revoked. Every attack is made
 * on a copy of HERD_HOME with the sqlite3 CLI and plain file writes, as someone with the files would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../src/catalog/catalog.js';
import { hashEntry, parseDetails } from '../src/journal/chain.js';
import { Journal } from '../src/journal/journal.js';
import type { Digest } from '../src/oci/types.js';
import { admissionCatalogView } from '../src/pipeline/admission-catalog-view.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { checkAdmission } from '../src/trust/admission.js';
import { signJournalCheckpoint } from '../src/trust/journal-checkpoint.js';
import { loadTrustedKeys } from '../src/trust/trusted-keys.js';
import { createAptRepo, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, lockAndBuild, openHomeStore, writeSpecDir } from './support/build-harness.js';
import { runHerd } from './support/cli.js';
import { startDockerRegistry, type TestRegistry } from './support/docker-registry.js';
import { requireTool } from './support/podman.js';

function herd(args: string[], home: string, env: Record<string, string> = {}) {
  return runHerd(args, { home, env: { HERD_KEY_PASSWORD: 'correct horse', HERD_ACTOR: 'tester', ...env } });
}

function sqlite3(db: string, sql: string): string {
  const result = spawnSync('sqlite3', ['-json', db, sql], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `sqlite3 failed:\n${result.stderr}`);
  return result.stdout;
}

const spec = (repo: FixtureRepo) => `apiVersion: herd/v1
service: tiny
image:
  suites: [test]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [tiny-bin]
`;

describe('herd journal --verify against the catalog and the signed checkpoint', () => {
  let repo: FixtureRepo;
  let home: string;
  let digest: Digest;
  let registry: TestRegistry;
  const copies: string[] = [];

  before(async () => {
    requireTool('sqlite3', 'sqlite3');
    repo = await createAptRepo({
      dir: await freshHome('herd-repo-'),
      suites: [{ name: 'test' }],
      packages: [
        {
          name: 'base-files',
          version: '12.4',
          files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
        },
        {
          name: 'tiny-bin',
          version: '1.0',
          files: [{ path: 'usr/bin/tiny', content: 'tiny\n', mode: 0o755 }],
        },
      ],
    });
    home = await freshHome();
    const specDir = await writeSpecDir({ 'herd.yaml': spec(repo) });
    digest = (await lockAndBuild(specDir, { home })).image.digest;
    for (const args of [
      ['keys', 'generate'],
      ['gate', digest, '--spec', specDir, '--format', 'json'],
      ['sign', digest],
      ['release', 'tiny', digest, '--stage', 'candidate'],
      ['release', 'tiny', digest, '--stage', 'production'],
      ['revoke', 'tiny', digest, '--reason', 'CVE-2025-0003'],
    ]) {
      const result = herd(args, home);
      assert.equal(result.status, 0, `herd ${args.join(' ')}: ${result.err}`);
      assert.doesNotMatch(result.err, /journal checkpoint not written/);
    }
    registry = await startDockerRegistry();
  });

  after(async () => {
    await registry?.stop();
    await repo?.close();
    for (const copy of copies) await rm(copy, { recursive: true, force: true });
  });

  /** HERD_HOME's state, keys and checkpoint in a new folder, for an attack that must not touch `home`. */
  async function copyOfHome(): Promise<{ copy: string; db: string }> {
    const copy = await mkdtemp(join(tmpdir(), 'herd-home-copy-'));
    copies.push(copy);
    // Through sqlite3, so a WAL not yet checkpointed comes along.
    sqlite3(join(home, 'herd.db'), `VACUUM INTO '${join(copy, 'herd.db')}'`);
    await cp(join(home, 'keys'), join(copy, 'keys'), { recursive: true });
    await cp(join(home, 'journal.checkpoint'), join(copy, 'journal.checkpoint'));
    return { copy, db: join(copy, 'herd.db') };
  }

  it('says the chain is intact, the catalog agrees, and the journal extends the checkpoint signed after the revoke', () => {
    const verify = herd(['journal', '--verify'], home);

    assert.equal(verify.status, 0, verify.out + verify.err);
    assert.deepEqual(verify.out.trim().split('\n').slice(0, 2), [
      'journal chain intact: 5 entries',
      'catalog agrees with the journal: 2 releases, 1 revocation',
    ]);
    assert.match(verify.out, /journal extends its checkpoint: entry 5 signed \S+ by key [0-9a-f]{16}…/);
  });

  it('names the digest and the journal entry of a revocation deleted with sqlite3, and admission refuses', async () => {
    const { copy, db } = await copyOfHome();
    const before = await admitted(copy);

    sqlite3(db, 'DROP TRIGGER catalog_revocation_no_delete; DELETE FROM catalog_revocation;');

    const verify = herd(['journal', '--verify'], copy);
    assert.equal(verify.status, 1);
    assert.match(
      verify.out,
      new RegExp(
        `catalog disagrees with the journal at entry 5: journal entry 5 revoked ${digest} for tiny, but the catalog no longer holds that revocation`,
      ),
    );
    assert.match(verify.out, /journal does not extend its checkpoint .*a catalog row was deleted or edited/);
    assert.equal(before.code, 'REVOKED');
    const after = await admitted(copy);
    assert.equal(after.code, 'CATALOG_INCONSISTENT');
    assert.match(after.reason, new RegExp(`journal entry 5 revoked ${digest}`));
  });

  it('catches a tail cut off with the head moved back, which the chain alone passes', async () => {
    const { copy, db } = await copyOfHome();

    sqlite3(
      db,
      `DROP TRIGGER journal_no_delete; DROP TRIGGER journal_head_forward_only;
       DROP TRIGGER catalog_release_no_delete; DROP TRIGGER catalog_revocation_no_delete;
       DELETE FROM catalog_release WHERE journal_id > 3; DELETE FROM catalog_revocation;
       DELETE FROM journal WHERE id > 3;
       UPDATE journal_head SET last_id = 3, hash = (SELECT hash FROM journal WHERE id = 3);`,
    );

    const verify = herd(['journal', '--verify'], copy);
    assert.equal(verify.status, 1);
    assert.match(verify.out, /^journal chain intact: 3 entries$/m);
    assert.match(verify.out, /^catalog agrees with the journal: 1 release, 0 revocations$/m);
    assert.match(
      verify.out,
      /the journal ends at entry 3, but its checkpoint records 5 entries \(tail deleted\)/,
    );
    assert.equal((await admitted(copy)).code, 'CATALOG_INCONSISTENT');
  });

  it('catches the last entry rewritten with its hash, the head and the catalog made to match', async () => {
    const { copy, db } = await copyOfHome();
    const [row] = JSON.parse(sqlite3(db, 'SELECT * FROM journal WHERE id = 5')) as {
      id: number;
      at: string;
      actor: string;
      action: string;
      service: string;
      digest: string;
      details: string;
      prev_hash: string;
    }[];
    const details = { ...parseDetails(row!.details), reason: 'revoked by mistake' };
    const hash = hashEntry({ ...row!, details, prevHash: row!.prev_hash });

    sqlite3(
      db,
      `DROP TRIGGER journal_no_update; DROP TRIGGER journal_head_forward_only;
       DROP TRIGGER catalog_revocation_no_update;
       UPDATE journal SET details = '${JSON.stringify(details)}', hash = '${hash}' WHERE id = 5;
       UPDATE journal_head SET hash = '${hash}';
       UPDATE catalog_revocation SET reason = 'revoked by mistake';`,
    );

    const verify = herd(['journal', '--verify'], copy);
    assert.equal(verify.status, 1);
    assert.match(verify.out, /^journal chain intact: 5 entries$/m);
    assert.match(verify.out, /^catalog agrees with the journal/m);
    assert.match(
      verify.out,
      /entry 5 has hash [0-9a-f]{16}…, its checkpoint signed [0-9a-f]{16}… \(journal rewritten\)/,
    );
  });

  it('catches an emptied journal: herd.db deleted, and made again by the next command', async () => {
    const { copy, db } = await copyOfHome();

    await rm(db);

    const verify = herd(['journal', '--verify'], copy);
    assert.equal(verify.status, 1);
    assert.match(verify.out, /the journal is empty, but its checkpoint records 5 entries/);
  });

  it('refuses a checkpoint signed by a key that is not trusted, and will not sign over it', async () => {
    const { copy } = await copyOfHome();
    const envelope = JSON.parse(await readFile(join(copy, 'journal.checkpoint'), 'utf8'));
    const signed = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = JSON.stringify(signJournalCheckpoint({ ...signed, sequence: 1 }, privateKey));
    await writeFile(join(copy, 'journal.checkpoint'), forged);

    const verify = herd(['journal', '--verify'], copy);
    const checkpoint = herd(['journal', 'checkpoint'], copy);

    assert.equal(verify.status, 1);
    assert.match(
      verify.out,
      /journal checkpoint is not valid: journal checkpoint \S+ is not signed by any of the 1 trusted keys/,
    );
    assert.equal(checkpoint.status, 1);
    assert.equal(await readFile(join(copy, 'journal.checkpoint'), 'utf8'), forged);
  });

  it('keeps a copy in a registry that the journal is checked against when the local one is gone', async () => {
    const destination = `${registry.host}/team/herd-journal`;
    const push = herd(['journal', 'checkpoint', '--push', destination], home);
    assert.equal(push.status, 0, push.err);
    assert.match(push.out, /already signed journal checkpoint at entry 5/);
    assert.match(
      push.out,
      new RegExp(`pushed it to ${destination}:journal-checkpoint \\(sha256:[0-9a-f]{64}\\)`),
    );
    const { copy, db } = await copyOfHome();

    await rm(db);
    await rm(join(copy, 'journal.checkpoint'));

    const local = herd(['journal', '--verify'], copy);
    const remote = herd(['journal', '--verify', '--checkpoint', destination], copy);
    const genuine = herd(['journal', '--verify', '--checkpoint', destination], home);
    assert.equal(local.status, 0, 'with both gone, only the registry copy can tell');
    assert.match(local.out, /journal checkpoint: none/);
    assert.equal(remote.status, 1);
    assert.match(remote.out, /the journal is empty, but its checkpoint records 5 entries/);
    assert.equal(genuine.status, 0, genuine.out + genuine.err);
  });

  /** What admission says of the digest in `dir`'s herd.db, with the control plane's view of the catalog. */
  async function admitted(dir: string): Promise<{ code: string; reason: string }> {
    const db = openStateDb(join(dir, 'herd.db'));
    try {
      const journal = new Journal(db, { clock: { now: () => Date.now() } });
      const publicKeys = (await loadTrustedKeys({ root: dir })).map((key) => key.publicKey);
      const decision = await checkAdmission(
        {
          store: await openHomeStore(home),
          publicKeys,
          catalog: admissionCatalogView({
            catalog: new Catalog(journal),
            journal,
            home: { root: dir },
            publicKeys,
          }),
        },
        { service: 'tiny', digest, template: undefined },
      );
      return decision.admitted ? { code: 'ADMITTED', reason: '' } : decision;
    } finally {
      db.close();
    }
  }
});
