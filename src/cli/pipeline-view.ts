/**
 * What `herd check`, `herd pipeline ls|show|logs` and `herd status` print about the remediation
 * loop: pure functions from the API's answers to text, so the commands only call and print, and
 * the tests read the text directly.
 */
import { shortDigest } from '../oci/index.js';
import type {
  CheckOutcome,
  PipelineRun,
  RemediationTimes,
  RunStageRecord,
  UpdateFinding,
} from '../pipeline/index.js';
import { formatTable } from './format.js';

/** `850ms`, `4.2s`, `42s`, `1m32s`, `2h5m`, `3d4h`: a time span at the precision people read. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const [days, hours, minutes, rest] = [
    Math.floor(whole / 86_400),
    Math.floor(whole / 3600) % 24,
    Math.floor(whole / 60) % 60,
    whole % 60,
  ];
  if (days > 0) return `${days}d${hours}h`;
  if (hours > 0) return `${hours}h${minutes}m`;
  return `${minutes}m${rest}s`;
}

/** An ISO 8601 time without its milliseconds: `2026-12-03T10:01:00Z`. */
function shortTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** The line `herd status` prints, or undefined before the fleet's first remediated run. */
export function renderTimes(times: RemediationTimes): string | undefined {
  if (times.count === 0) return undefined;
  const parts = [
    times.lastMs !== undefined ? `last ${formatDuration(times.lastMs)}` : undefined,
    times.p50Ms !== undefined ? `p50 ${formatDuration(times.p50Ms)}` : undefined,
    times.p90Ms !== undefined ? `p90 ${formatDuration(times.p90Ms)}` : undefined,
  ].filter((part) => part !== undefined);
  return `time-to-remediate: ${[...parts, `over ${times.count} run${times.count === 1 ? '' : 's'}`].join(', ')}`;
}

/** Each fleet's findings and the run started for them, or why none was. */
export function renderCheck(outcomes: CheckOutcome[]): string {
  if (outcomes.length === 0) return 'no fleet to check: none has a registered spec';
  return outcomes
    .map((outcome) => {
      const found =
        outcome.findings.length === 0
          ? 'nothing found'
          : `${outcome.findings.length} update finding${outcome.findings.length === 1 ? '' : 's'}`;
      const run = outcome.run
        ? `run ${outcome.run.id} started (herd pipeline show ${outcome.run.id})`
        : outcome.findings.length > 0
          ? `no run: ${visible(outcome.skipped ?? 'none started')}`
          : outcome.skipped && visible(outcome.skipped);
      const head = `${outcome.service}: ${[found, ...(run ? [run] : [])].join('; ')}`;
      return [head, ...outcome.findings.map((finding) => indent(renderFinding(finding), '  '))].join('\n');
    })
    .join('\n');
}

/** One finding: what it is and when it became visible, then its packages old → new with the CVEs. */
export function renderFinding(finding: UpdateFinding): string {
  const traits = [
    finding.kind,
    ...(finding.security ? ['security'] : []),
    ...(finding.urgency ? [`urgency ${finding.urgency}`] : []),
    ...(finding.actionable ? [] : ['no fix yet']),
    `visible since ${shortTime(finding.visibleAt)}`,
  ];
  const lines = [visible(finding.summary), `  ${traits.join(', ')}`];
  if (finding.rules && finding.rules.length > 0) lines.push(`  rules failing: ${finding.rules.join(', ')}`);
  if (finding.packages.length > 0) {
    const table = formatTable([
      ['PACKAGE', 'OLD', 'NEW', 'CVES FIXED', 'URGENCY', 'VISIBLE SINCE'],
      ...finding.packages.map((update) => [
        visible(update.name),
        update.from !== undefined ? visible(update.from) : '(new)',
        update.to !== undefined ? visible(update.to) : '(dropped)',
        update.cvesFixed.length > 0 ? visible(update.cvesFixed.join(',')) : '-',
        update.urgency ?? '-',
        shortTime(update.visibleAt),
      ]),
    ]);
    lines.push(indent(table, '  '));
  }
  return lines.join('\n');
}

/** How long a run took, or has taken so far when it has not ended. */
function runDuration(run: PipelineRun, now: number): string {
  const end = run.endedAt ? Date.parse(run.endedAt) : now;
  return formatDuration(end - Date.parse(run.createdAt));
}

/** `herd pipeline ls`: one row per run, newest first as the control plane lists them. */
export function renderRunsTable(runs: PipelineRun[], now: number): string {
  if (runs.length === 0) return 'no pipeline runs yet';
  return formatTable([
    ['ID', 'SERVICE', 'STATUS', 'STAGE', 'DIGEST', 'STARTED', 'DURATION', 'TTR'],
    ...runs.map((run) => [
      String(run.id),
      run.service,
      run.status,
      run.stage ?? '-',
      run.digest ? shortDigest(run.digest) : '-',
      shortTime(run.createdAt),
      runDuration(run, now),
      run.timeToRemediateMs !== undefined ? formatDuration(run.timeToRemediateMs) : '-',
    ]),
  ]);
}

/** `herd pipeline show`: the run, each stage with its status and duration, its findings. */
export function renderRun(run: PipelineRun, now: number): string {
  const where = run.stage ? ` at ${run.stage}` : '';
  const lines = [
    `run ${run.id}  ${run.service}  ${run.status}${where}  (started by ${run.trigger === 'check' ? 'herd check' : 'the monitor'})`,
    `  from      ${run.fromDigest}`,
    `  to        ${run.digest ?? '(not built yet)'}`,
    `  started   ${shortTime(run.createdAt)}${run.endedAt ? `, ended ${shortTime(run.endedAt)}` : ''}, ${run.endedAt ? 'took' : 'running for'} ${runDuration(run, now)}`,
  ];
  if (run.timeToRemediateMs !== undefined) {
    lines.push(
      `  time-to-remediate ${formatDuration(run.timeToRemediateMs)} (from the fix visible to the last instance replaced)`,
    );
  }
  if (run.error) lines.push(`  error     ${visible(run.error)}`);
  if (run.status === 'awaiting-approval') lines.push(`  held for approval: herd approve ${run.id}`);
  lines.push('stages:');
  lines.push(
    run.stages.length === 0
      ? '  (none started)'
      : indent(
          formatTable([
            ['STAGE', 'STATUS', 'DURATION', 'STARTED'],
            ...run.stages.map((stage) => [
              stage.stage,
              stage.status,
              stageDuration(stage, now),
              shortTime(stage.startedAt),
            ]),
          ]),
          '  ',
        ),
  );
  lines.push(`update findings (${run.findings.length}):`);
  for (const finding of run.findings) lines.push(indent(renderFinding(finding), '  '));
  return lines.join('\n');
}

function stageDuration(stage: RunStageRecord, now: number): string {
  if (stage.durationMs !== undefined) return formatDuration(stage.durationMs);
  if (stage.status === 'running') return `${formatDuration(now - Date.parse(stage.startedAt))} so far`;
  return '-';
}

export interface StageOutput {
  stage: string;
  status: string;
  durationMs?: number;
  output: string;
}

/** `herd pipeline logs`: each stage's output under a header naming it, its status and duration. */
export function renderStageOutputs(stages: StageOutput[]): string {
  return stages
    .map((stage) => {
      const took = stage.durationMs !== undefined ? `, ${formatDuration(stage.durationMs)}` : '';
      const body = visible(stage.output.trimEnd(), { multiline: true }) || '(no output)';
      return `== ${stage.stage} (${stage.status}${took}) ==\n${body}`;
    })
    .join('\n\n');
}

/**
 * Text from the runs as the terminal should show it: a stage's output and a finding's summary carry
 * what packages, archives and instances said, so an escape sequence in them must not reach the
 * terminal as one. Control characters become `\xNN`; line breaks stay only where lines belong.
 */
export function visible(text: string, options: { multiline?: boolean } = {}): string {
  return [...text]
    .map((char) => {
      const code = char.codePointAt(0) ?? 0;
      const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
      if (!control || (options.multiline && (char === '\n' || char === '\t'))) return char;
      return `\\x${code.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
