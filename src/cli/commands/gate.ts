/**
 * `herd gate <ref>` and `herd vulndb update`. The gate's verdict is stored with the image, so
 * `herd sign` can attest it and admission can insist on it; exit 1 means the image failed.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { gateImage, storeVerdict } from '../../gate/evaluate-gate.js';
import type { Profile } from '../../gate/findings.js';
import { formatJsonReport } from '../../gate/reports/json-report.js';
import { formatSarifReport } from '../../gate/reports/sarif-report.js';
import { formatTextReport } from '../../gate/reports/text-report.js';
import type { Verdict } from '../../gate/verdict.js';
import { loadVulnDb, updateVulnDb, type VulnDb, VulnDbError } from '../../gate/vulns/index.js';
import { herdHome } from '../../herd-home.js';
import { type LayoutStore, writeAtomic } from '../../oci/layout-store.js';
import type { Digest } from '../../oci/types.js';
import type { LoadedSpec } from '../../specfile/types.js';
import { CliError } from '../errors.js';
import { herdVersion } from '../herd-version.js';
import { logger } from '../logger.js';
import { openSpec, openStore } from '../spec-context.js';
import { openState } from '../state-context.js';

/** The Debian security tracker's own export: what `herd vulndb update` reads unless told otherwise. */
export const trackerDataUrl = 'https://security-tracker.debian.org/tracker/data/json';

const formats = ['text', 'json', 'sarif'] as const;
type ReportFormat = (typeof formats)[number];

export interface GateCommandOptions {
  spec?: string;
  profile?: string;
  format?: string;
  output?: string;
}

export async function gateCommand(reference: string, options: GateCommandOptions): Promise<number> {
  const format = oneOf(options.format ?? 'text', formats, '--format');
  const profile = options.profile === undefined ? undefined : oneOf(options.profile, profiles, '--profile');
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  const spec = options.spec === undefined ? undefined : (await openSpec(options.spec)).loaded;
  const lockFile = spec ? await readLockIfPresent(resolve(spec.dir, 'herd.lock')) : undefined;
  const verdict = await gateAndStore(store, digest, {
    ...(spec ? { spec } : {}),
    ...(lockFile ? { lockFile } : {}),
    ...(profile ? { profile } : {}),
  });
  const report = renderReport(verdict, format);
  if (options.output) {
    await writeAtomic(resolve(options.output), report, { mode: 0o644 });
    console.log(`${verdict.passed ? 'passed' : 'failed'}: ${digest} (${format} report in ${options.output})`);
  } else {
    process.stdout.write(report.endsWith('\n') ? report : `${report}\n`);
  }
  return verdict.passed ? 0 : 1;
}

const profiles = ['baseline', 'strict'] as const satisfies readonly Profile[];

/**
 * Gates an image with what herd knows of it: the spec and lock when given, the vulnerability data
 * when `herd vulndb update` has run (its absence is a warning in the verdict, not an error). Stores
 * the verdict and journals it.
 */
export async function gateAndStore(
  store: LayoutStore,
  digest: Digest,
  options: { spec?: LoadedSpec; lockFile?: Uint8Array; profile?: Profile },
): Promise<Verdict> {
  const vulndb = await loadVulnDbIfPresent();
  const spec = options.spec?.spec;
  const verdict = await gateImage(store, digest, {
    now: new Date(),
    ...(spec ? { spec, gate: spec.gate, release: spec.image.release } : {}),
    ...(options.lockFile ? { lockFile: options.lockFile } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(vulndb ? { vulndb } : {}),
  });
  await storeVerdict(store, digest, verdict);
  await settleQuarantine(store, digest, verdict.passed);
  const state = openState();
  try {
    state.journal.append({
      actor: state.actor,
      action: 'gate',
      ...(spec ? { service: spec.service } : {}),
      digest,
      details: {
        profile: verdict.profile,
        passed: verdict.passed,
        failing: verdict.summary.failing,
        waived: verdict.summary.waived,
        expiredWaivers: verdict.summary.expiredWaivers,
      },
    });
  } finally {
    state.close();
  }
  return verdict;
}

/**
 * A built image waits unnamed in the store until its gate passes; then it gets the name it was
 * built for. A failing gate leaves it unnamed, marked `gate-failed` for `herd image ls`. An image
 * that is already named keeps its name: sign and admission read the latest verdict, not the name.
 */
async function settleQuarantine(store: LayoutStore, digest: Digest, passed: boolean): Promise<void> {
  const quarantined = await store.quarantined(digest);
  if (!quarantined) return;
  if (passed) {
    await store.nameImage(digest, quarantined.intendedName);
  } else if (quarantined.reason !== 'gate-failed') {
    const manifest = (await store.readIndex()).manifests.find((m) => m.digest === digest);
    if (manifest)
      await store.quarantine(manifest, { intendedName: quarantined.intendedName, reason: 'gate-failed' });
  }
}

/** Without the lock the signed-suites rule says it checked nothing; that is a finding, not an error. */
async function readLockIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    logger.warn({ path }, 'no herd.lock beside the spec: package suites are not checked');
    return undefined;
  }
}

async function loadVulnDbIfPresent(): Promise<VulnDb | undefined> {
  try {
    return await loadVulnDb(herdHome());
  } catch (error) {
    if (error instanceof VulnDbError && error.code === 'VULNDB_MISSING') {
      logger.warn('no vulnerability data: run herd vulndb update; the gate reports it as HERD-V002');
      return undefined;
    }
    throw error;
  }
}

export function renderReport(verdict: Verdict, format: ReportFormat): string {
  if (format === 'json') return formatJsonReport(verdict);
  if (format === 'sarif') return formatSarifReport(verdict, { toolVersion: herdVersion });
  return formatTextReport(verdict);
}

/**
 * `herd vulndb update [--from <url|file>] [--release <codename>...]`: replaces the cache in one
 * rename, or leaves it as it was when the input is bad.
 */
export async function vulndbUpdateCommand(options: { from?: string; release?: string[] }): Promise<number> {
  const from = options.from ?? process.env.HERD_VULNDB_URL ?? trackerDataUrl;
  const update = await updateVulnDb(herdHome(), {
    from,
    now: new Date(),
    ...(options.release?.length ? { releases: options.release } : {}),
  });
  const state = openState();
  try {
    state.journal.append({
      actor: state.actor,
      action: 'vulndb-update',
      details: { source: update.meta.source, records: update.meta.records },
    });
  } finally {
    state.close();
  }
  const { meta } = update;
  console.log(`vulnerability data from ${meta.source}`);
  console.log(
    `  records   ${meta.records} (${meta.vulnerabilities} vulnerabilities, ${meta.sourcePackages} source packages)`,
  );
  console.log(`  data as of ${meta.dataDate ?? meta.fetchedAt}`);
  console.log(`  cache     ${update.path}`);
  return 0;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError('ARGUMENT_INVALID', `${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
}
