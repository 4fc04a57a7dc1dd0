/** `herd fim check`'s exit status, chosen here with every other exit code of the CLI. */
import type { FimSummary } from '../watch/index.js';

/** AIDE's exit status for --check: 1 new, 2 removed, 4 changed, added together. */
export function exitBitmask(summary: FimSummary): number {
  return (summary.added > 0 ? 1 : 0) | (summary.removed > 0 ? 2 : 0) | (summary.changed > 0 ? 4 : 0);
}
