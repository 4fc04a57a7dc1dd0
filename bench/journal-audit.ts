/**
 * bench/journal-audit: what admission pays to believe the catalog, on a herd.db with a 10,000-entry
 * journal (1,000 releases and 100 revocations among rollouts and builds, as a busy fleet writes).
 *
 * Times, as medians over `--runs`:
 *   - admission: `catalogInconsistency`, what every rollout, rollback and revert runs (the catalog
 *     against the journal, and both against a signed checkpoint 20 entries behind the head), and
 *     the same without a checkpoint (no signing key), where every entry the catalog cites is hashed;
 *   - checkpoint: `anchorJournal` over those 20 entries, what herd does after a command journals;
 *   - verify: `Journal.verify`, the whole chain, which `herd journal --verify` adds and admission
 *     leaves out (the checkpoint's catalog digest stands in for it).
 *
 *   node --import tsx bench/journal-audit.ts [--runs 15] [--entries 10000]
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../src/catalog/catalog.js';
import { Journal } from '../src/journal/journal.js';
import type { Digest } from '../src/oci/types.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { anchorJournal, catalogInconsistency } from '../src/trust/journal-anchor.js';
import { LocalKeySigner } from '../src/trust/signer.js';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) || fallback : fallback;
}

const runs = flag('--runs', 15);
const entries = flag('--entries', 10_000);
const goals = { admissionMs: 50 };

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-bench-journal-'));
  try {
    const db = openStateDb(join(dir, 'herd.db'));
    const journal = new Journal(db, { clock: { now: () => Date.now() } });
    const catalog = new Catalog(journal);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new LocalKeySigner(privateKey);
    const path = join(dir, 'journal.checkpoint');
    const anchor = () =>
      anchorJournal({ journal, catalog }, { path, signer, publicKeys: [publicKey], now: () => new Date() });

    const started = performance.now();
    await fill({ journal, catalog }, entries - 20);
    await anchor();
    await fill({ journal, catalog }, 20, entries);
    const filled = performance.now() - started;

    const admission = await median(runs, () =>
      catalogInconsistency({ journal, catalog }, { path, publicKeys: [publicKey] }),
    );
    const unanchored = await median(runs, () =>
      catalogInconsistency({ journal, catalog }, { path: join(dir, 'none'), publicKeys: [publicKey] }),
    );
    const verify = await median(runs, async () => journal.verify());
    // Last, as it moves the checkpoint to the head: once, over the 20 entries since the last one.
    const checkpoint = await median(1, anchor);
    const problem = await catalogInconsistency({ journal, catalog }, { path, publicKeys: [publicKey] });
    db.close();

    console.log(`herd.db with ${entries} journal entries, filled in ${(filled / 1000).toFixed(1)} s`);
    console.log(
      `admission check   ${admission.toFixed(1)} ms (median of ${runs}; goal ≤ ${goals.admissionMs} ms)`,
    );
    console.log(`  no checkpoint   ${unanchored.toFixed(1)} ms (every cited entry hashed again)`);
    console.log(`checkpoint        ${checkpoint.toFixed(1)} ms (20 entries since the last one)`);
    console.log(`whole chain       ${verify.toFixed(1)} ms (herd journal --verify only)`);
    if (problem !== undefined) throw new Error(`the bench's own journal does not check: ${problem}`);
    if (admission > goals.admissionMs) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every tenth entry a release, every hundredth a revocation of an earlier release; the rest rollouts. */
async function fill(
  parts: { journal: Journal; catalog: Catalog },
  count: number,
  upTo = count,
): Promise<void> {
  const { journal, catalog } = parts;
  const start = (journal.head()?.lastId ?? 0) + 1;
  let released = journal.db.prepare('SELECT count(*) FROM catalog_release').pluck().get() as number;
  for (let id = start; id < start + count && id <= upTo; id += 1) {
    const digest: Digest = `sha256:${id.toString(16).padStart(64, '0')}`;
    if (id % 100 === 0) {
      catalog.revoke('web', `sha256:${(id - 10).toString(16).padStart(64, '0')}`, {
        reason: `CVE-${id}`,
        actor: 'sec',
      });
    } else if (id % 10 === 0) {
      await catalog.release('web', digest, {
        stage: 'candidate',
        actor: 'ci',
        verifySignature: async () => true,
      });
      released += 1;
    } else {
      journal.append({
        actor: 'herd',
        action: 'rollout',
        service: 'web',
        digest,
        details: { event: 'rollout-started', revision: `web-${released}`, reason: 'a new release', size: 4 },
      });
    }
  }
}

async function median(count: number, run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

await main();
