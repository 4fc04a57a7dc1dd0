/**
 * The verdict for people: a headline, one table row per finding (failing ones first), then the
 * waived findings and the expired waivers. Plain text, no colour: the CLI may add some. Pure.
 */
import { describeLocation } from '../findings.js';
import type { Verdict } from '../verdict.js';
import { describeWaiver } from '../waivers.js';

export function formatTextReport(verdict: Verdict): string {
  const lines = [headline(verdict), vulndbLine(verdict), secretScanLine(verdict), ''];
  if (verdict.findings.length === 0) lines.push('no findings');
  else {
    lines.push(
      ...table(
        ['RESULT', 'LEVEL', 'RULE', 'WHERE', 'FINDING'],
        verdict.findings.map((finding) => [
          finding.fails ? 'FAIL' : 'ok',
          finding.level,
          finding.rule,
          describeLocation(finding),
          finding.message +
            (finding.expiredWaiver ? ` (waiver expired ${finding.expiredWaiver.expires})` : ''),
        ]),
      ),
    );
  }
  if (verdict.waived.length > 0) {
    lines.push('', `waived (${verdict.waived.length}):`);
    for (const { finding, waiver } of verdict.waived) {
      lines.push(
        `  ${finding.rule}  ${describeLocation(finding)}  owner ${waiver.owner}, until ${waiver.expires}: ${waiver.reason}`,
      );
    }
  }
  if (verdict.expiredWaivers.length > 0) {
    lines.push('', `expired waivers, no longer applied (${verdict.expiredWaivers.length}):`);
    for (const expired of verdict.expiredWaivers) {
      lines.push(
        `  ${describeWaiver(expired.waiver)}  expired ${expired.waiver.expires} (owner ${expired.waiver.owner}), would cover ${expired.covers} finding(s): ${expired.waiver.reason}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function headline(verdict: Verdict): string {
  const { failing, byLevel } = verdict.summary;
  const result = verdict.passed ? 'PASSED' : `FAILED: ${counted(failing, 'failing finding')}`;
  const counts = `${counted(byLevel.error, 'error')}, ${counted(byLevel.warning, 'warning')}, ${byLevel.info} info, ${verdict.summary.waived} waived`;
  return `gate ${verdict.image} (profile ${verdict.profile}) ${result} [${counts}] at ${verdict.evaluatedAt}`;
}

function vulndbLine(verdict: Verdict): string {
  const { vulndb } = verdict;
  if (vulndb.age === null) return 'vulnerabilities: not checked';
  const state = vulndb.stale ? `STALE, older than ${vulndb.maxAgeDays} days` : 'fresh';
  return `vulnerabilities: data ${vulndb.age.toFixed(1)} days old (since ${vulndb.since ?? '?'}), ${state}`;
}

function secretScanLine(verdict: Verdict): string {
  const scan = verdict.summary.secretScan;
  return (
    `secret scan: ${scan.scanned} of ${scan.files} files read; not read: ${scan.skippedTooLarge} too large, ` +
    `${scan.skippedBinary} binary, ${scan.skippedKnownSafe} package files in known-safe paths`
  );
}

function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Left-aligned columns; the last one is not padded, so long messages do not push out the others. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) =>
    column === header.length - 1
      ? 0
      : Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}
