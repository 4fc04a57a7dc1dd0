import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../catalog/catalog.js';
import type { Logger } from '../common/index.js';
import { herdHome } from '../herd-home.js';
import { Journal } from '../journal/journal.js';
import { openStateDb } from '../state/open-state-db.js';
import { checkAnchor, journalCheckpointPath } from '../trust/journal-anchor.js';
import { writeCosignKeyPair } from '../trust/key-files.js';
import { loadTrustedKeys } from '../trust/trusted-keys.js';
import { startJournalAnchoring } from './journal-anchoring.js';

describe('startJournalAnchoring', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-anchoring-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function recordingLog(): Logger & { warnings: string[] } {
    const warnings: string[] = [];
    return {
      warnings,
      debug() {},
      info() {},
      error() {},
      warn: (meta, message) => warnings.push(`${message}: ${meta.reason}`),
    };
  }

  function stateIn(home: ReturnType<typeof herdHome>) {
    const db = openStateDb(home.stateDb);
    const journal = new Journal(db, { clock: { now: () => Date.now() } });
    return { db, journal, catalog: new Catalog(journal) };
  }

  it('signs once per batch of entries, and once more when it stops', async () => {
    const home = herdHome({ HERD_HOME: join(root, 'keyed') });
    await writeCosignKeyPair(home, { password: 'pw' });
    const { db, journal, catalog } = stateIn(home);
    const log = recordingLog();
    const anchoring = startJournalAnchoring({
      journal,
      catalog,
      home,
      log,
      env: { HERD_KEY_PASSWORD: 'pw' },
      intervalMs: 60_000,
    });
    const publicKeys = (await loadTrustedKeys(home)).map((key) => key.publicKey);
    const anchored = async () => {
      const check = await checkAnchor(
        { journal, catalog },
        { path: journalCheckpointPath(home), publicKeys },
      );
      return check.kind === 'anchored' ? check.verified.checkpoint.sequence : check.kind;
    };

    for (let i = 0; i < 3; i += 1) journal.append({ actor: 'herd', action: 'scale', service: 'web' });
    const first = await anchoring.anchorNow();
    const again = await anchoring.anchorNow();
    const afterBatch = await anchored();
    journal.append({ actor: 'herd', action: 'scale', service: 'web' });
    await anchoring.stop();

    assert.equal(first?.kind, 'written');
    assert.equal(again, undefined, 'the head had not moved: nothing to sign');
    assert.equal(afterBatch, 3);
    assert.equal(await anchored(), 4);
    assert.deepEqual(log.warnings, []);
    db.close();
  });

  it('says once, not every interval, that it has no key to sign with', async () => {
    const home = herdHome({ HERD_HOME: join(root, 'keyless') });
    const { db, journal, catalog } = stateIn(home);
    const log = recordingLog();
    const anchoring = startJournalAnchoring({ journal, catalog, home, log, env: {}, intervalMs: 60_000 });

    journal.append({ actor: 'herd', action: 'scale', service: 'web' });
    await anchoring.anchorNow();
    journal.append({ actor: 'herd', action: 'scale', service: 'web' });
    await anchoring.stop();

    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0]!, /journal checkpoint not written: no signing key at /);
    db.close();
  });
});
