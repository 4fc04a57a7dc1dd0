/**
 * The parts the pipeline's use cases (src/pipeline) are handed, opened for one command: HERD_HOME's
 * store and caches, herd.db, the system clock, the CLI's logger and its progress on stderr.
 */

import { systemClock } from '../common/index.js';
import { herdHome } from '../herd-home.js';
import type { BuildParts, BuildRequest } from '../pipeline/index.js';
import { herdVersion } from './herd-version.js';
import { lockNotices } from './lock-notices.js';
import { logger } from './logger.js';
import { openStore, sourceDateEpochFromEnv } from './spec-context.js';
import { openState } from './state-context.js';
import { terminalProgress } from './terminal-progress.js';

export interface CommandParts extends BuildParts {
  /** Closes herd.db; after a command that journaled, herd signs a checkpoint. */
  close(): void;
}

export async function openPipelineParts(): Promise<CommandParts> {
  const caches = await openStore();
  const state = openState();
  return {
    ...caches,
    state,
    home: herdHome(),
    clock: systemClock,
    logger,
    progress: terminalProgress(),
    close: () => state.close(),
  };
}

/** A build as the command line asks for it: this herd's version, SOURCE_DATE_EPOCH, notices on stderr. */
export function buildRequest(options: { gate: boolean; allowDowngrade?: boolean }): BuildRequest {
  const epoch = sourceDateEpochFromEnv();
  return {
    gate: options.gate,
    herdVersion,
    notices: lockNotices,
    ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
  };
}
