/**
 * The catalog and the journal must tell the same story. Every release and revocation row cites the
 * journal entry written with it; that entry must say the same thing and sit in the chain; and every
 * release or revocation the journal records must still be in the catalog. Someone with the sqlite3
 * CLI who deletes a revocation row (the triggers can be dropped) is caught here, and admission
 * refuses until the two agree again. Pure: catalog.ts reads the rows.
 */
import { hashEntry, type JournalHead, type JournalRow, parseDetails } from '../journal/index.js';

/** A catalog row beside the journal entry it cites (absent when there is none). */
export interface CatalogRecord {
  kind: 'release' | 'revoke';
  journalId: number;
  service: string;
  digest: string;
  /** The stage of a release, the reason of a revocation. */
  detail: string;
  entry: JournalRow | undefined;
  /** The prevHash of entry `journalId + 1`, when there is one: the entry must be linked into the chain. */
  nextPrevHash: string | undefined;
}

/** A release or revoke entry of the journal that no catalog row cites. */
export interface UncitedEntry {
  id: number;
  action: 'release' | 'revoke';
  service: string | null;
  digest: string | null;
  details: string;
}

export interface Disagreement {
  /** The journal entry concerned. */
  journalId: number;
  digest: string;
  reason: string;
}

export type AgreementResult =
  | { ok: true; releases: number; revocations: number }
  | { ok: false; disagreements: Disagreement[] };

/**
 * `anchoredThrough`: the sequence of a signed checkpoint the journal and the catalog were found to
 * extend. Its catalog digest and its hash already vouch for the entries up to it, so only later
 * entries are hashed again; everything else is checked for every row.
 */
export function checkJournalAgreement(input: {
  records: readonly CatalogRecord[];
  uncited: readonly UncitedEntry[];
  head: JournalHead | undefined;
  anchoredThrough?: number;
}): AgreementResult {
  const disagreements: Disagreement[] = [];
  for (const record of input.records) {
    const rehash = record.journalId > (input.anchoredThrough ?? 0);
    const reason = disagreementOf(record, input.head, rehash);
    if (reason) disagreements.push({ journalId: record.journalId, digest: record.digest, reason });
  }
  for (const entry of input.uncited) {
    disagreements.push({
      journalId: entry.id,
      digest: entry.digest ?? '(none)',
      reason: uncitedReason(entry),
    });
  }
  if (disagreements.length > 0) {
    return { ok: false, disagreements: disagreements.sort((a, b) => a.journalId - b.journalId) };
  }
  const releases = input.records.filter((r) => r.kind === 'release').length;
  return { ok: true, releases, revocations: input.records.length - releases };
}

function disagreementOf(
  record: CatalogRecord,
  head: JournalHead | undefined,
  rehash: boolean,
): string | undefined {
  const { entry, journalId } = record;
  const cites = `${describe(record)} cites journal entry ${journalId}`;
  if (!entry) return `${cites}, which does not exist`;
  if (entry.action !== record.kind) return `${cites}, which records a ${entry.action}`;
  if (entry.service !== record.service || entry.digest !== record.digest) {
    return `${cites}, which records ${entry.service ?? '(no service)'} ${entry.digest ?? '(no digest)'}`;
  }
  const details = parseDetails(entry.details);
  if (!details) return `${cites}, whose details are not a json object (row edited)`;
  if (record.kind === 'release' && details.stage !== record.detail) {
    return `${cites}, which records stage ${JSON.stringify(details.stage)}`;
  }
  if (record.kind === 'revoke' && details.reason !== record.detail) {
    return `${cites}, which records the reason ${JSON.stringify(details.reason)}`;
  }
  if (rehash) {
    const hash = hashEntry({
      ...entry,
      service: entry.service ?? undefined,
      digest: entry.digest ?? undefined,
      details,
    });
    if (hash !== entry.hash) return `${cites}, whose hash does not match its content (row edited)`;
  }
  if (record.nextPrevHash !== undefined) {
    if (record.nextPrevHash !== entry.hash) {
      return `${cites}, which is not in the chain (entry ${journalId + 1} links to another hash)`;
    }
  } else if (head?.lastId !== journalId || head.hash !== entry.hash) {
    return `${cites}, which is not in the chain (neither a later entry nor the journal head links to it)`;
  }
  return undefined;
}

function describe(record: CatalogRecord): string {
  return record.kind === 'release'
    ? `release of ${record.digest} for ${record.service} at ${record.detail}`
    : `revocation of ${record.digest} (under ${record.service})`;
}

function uncitedReason(entry: UncitedEntry): string {
  const digest = entry.digest ?? '(no digest)';
  const service = entry.service ?? '(no service)';
  if (entry.action === 'revoke') {
    return `journal entry ${entry.id} revoked ${digest} for ${service}, but the catalog no longer holds that revocation (row deleted from catalog_revocation)`;
  }
  const stage = parseDetails(entry.details)?.stage;
  return `journal entry ${entry.id} released ${digest} for ${service} at ${typeof stage === 'string' ? stage : '(no stage)'}, but the catalog no longer holds that release (row deleted from catalog_release)`;
}

/** The lines `herd journal --verify` prints for the catalog. */
export function formatAgreement(result: AgreementResult): string[] {
  if (result.ok) {
    const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    return [
      `catalog agrees with the journal: ${plural(result.releases, 'release', 'releases')}, ${plural(result.revocations, 'revocation', 'revocations')}`,
    ];
  }
  return result.disagreements.map(
    (d) => `catalog disagrees with the journal at entry ${d.journalId}: ${d.reason}`,
  );
}
