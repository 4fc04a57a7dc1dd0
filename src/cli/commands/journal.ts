import { formatVerifyResult } from '../../journal/chain.js';
import { CliError } from '../errors.js';
import { formatTable } from '../format.js';
import { openState } from '../state-context.js';

/** `herd journal [--service] [--since] [--verify]`: the audit trail, or a check of its hash chain. */
export async function journalCommand(options: {
  service?: string;
  since?: string;
  verify?: boolean;
  json?: boolean;
}): Promise<number> {
  const state = openState();
  try {
    if (options.verify) {
      const result = state.journal.verify();
      console.log(formatVerifyResult(result));
      return result.ok ? 0 : 1;
    }
    const since = options.since === undefined ? undefined : parseSince(options.since);
    const entries = state.journal.list({
      ...(options.service ? { service: options.service } : {}),
      ...(since ? { since } : {}),
    });
    if (options.json) {
      console.log(JSON.stringify(entries, null, 2));
      return 0;
    }
    const rows = [['ID', 'AT', 'ACTOR', 'ACTION', 'SERVICE', 'DIGEST', 'DETAILS']];
    for (const e of entries) {
      rows.push([
        String(e.id),
        e.at,
        e.actor,
        e.action,
        e.service ?? '',
        e.digest ?? '',
        summarize(e.details),
      ]);
    }
    console.log(formatTable(rows));
    return 0;
  } finally {
    state.close();
  }
}

/** `--since` takes an ISO date or a duration back from now: 30m, 12h, 7d. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const duration = /^(\d+)([mhd])$/.exec(value);
  if (duration) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(duration[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new CliError(
      'ARGUMENT_INVALID',
      `--since takes an ISO date or a duration such as 12h or 7d, got "${value}"`,
    );
  }
  return date;
}

/** One line of details for the table; --json shows them whole. */
function summarize(details: Record<string, unknown>): string {
  const text = Object.entries(details)
    .filter(([, value]) => !Array.isArray(value))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}
