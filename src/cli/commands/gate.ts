/**
 * `herd gate <ref>`. The gate's verdict is stored with the image, so `herd sign` can attest it and
 * admission can insist on it; exit 1 means the image failed. `herd vulndb update` is vulndb.ts:
 * its fetcher and parsers are not part of a gate.
 *
 * This module loads the gate's use case alone (src/pipeline/gate.ts, an exception in
 * docs/architecture.md) and opens only the parts a gate uses: the store, herd.db and the spec
 * itself. src/pipeline/index.ts and the build's parts would bring the builder, the fleet, the
 * engines and the watch, twice the modules a gate runs, for a command whose goal is 300 ms. The
 * spec comes through validated-spec-cache.ts: one this build validated before is not validated
 * again.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { systemClock, writeAtomic } from '../../common/index.js';
import type { Profile } from '../../gate/index.js';
import { herdHome } from '../../herd-home.js';
import { LayoutStore } from '../../oci/index.js';
import { gateStoredImage } from '../../pipeline/gate.js';
import { CliError } from '../errors.js';
import { renderReport, reportFormats } from '../gate-report.js';
import { logger } from '../logger.js';
import { openState } from '../state-context.js';
import { loadValidatedSpec } from '../validated-spec-cache.js';

export interface GateCommandOptions {
  spec?: string;
  profile?: string;
  format?: string;
  output?: string;
}

export async function gateCommand(reference: string, options: GateCommandOptions): Promise<number> {
  const format = oneOf(options.format ?? 'text', reportFormats, '--format');
  const profile = options.profile === undefined ? undefined : oneOf(options.profile, profiles, '--profile');
  const home = herdHome();
  const store = new LayoutStore(home.store);
  await store.init();
  const state = openState();
  const parts = { store, state, home, clock: systemClock, logger };
  try {
    const digest = await store.resolve(reference);
    const spec = options.spec === undefined ? undefined : await loadValidatedSpec(options.spec, { home });
    const lockFile = spec ? await readLockIfPresent(resolve(spec.dir, 'herd.lock')) : undefined;
    const verdict = await gateStoredImage(digest, parts, {
      ...(spec ? { spec } : {}),
      ...(lockFile ? { lockFile } : {}),
      ...(profile ? { profile } : {}),
    });
    const report = renderReport(verdict, format);
    if (options.output) {
      await writeAtomic(resolve(options.output), report, { mode: 0o644 });
      console.log(
        `${verdict.passed ? 'passed' : 'failed'}: ${digest} (${format} report in ${options.output})`,
      );
    } else {
      process.stdout.write(report.endsWith('\n') ? report : `${report}\n`);
    }
    return verdict.passed ? 0 : 1;
  } finally {
    state.close();
  }
}

const profiles = ['baseline', 'strict'] as const satisfies readonly Profile[];

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

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError('ARGUMENT_INVALID', `${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
}
