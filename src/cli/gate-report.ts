/** A gate verdict as `herd gate --format`, `herd build` and `herd up` print it. */
import { formatJsonReport } from '../gate/reports/json-report.js';
import { formatSarifReport } from '../gate/reports/sarif-report.js';
import { formatTextReport } from '../gate/reports/text-report.js';
import type { Verdict } from '../gate/verdict.js';
import { herdVersion } from './herd-version.js';

export const reportFormats = ['text', 'json', 'sarif'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export function renderReport(verdict: Verdict, format: ReportFormat): string {
  if (format === 'json') return formatJsonReport(verdict);
  if (format === 'sarif') return formatSarifReport(verdict, { toolVersion: herdVersion });
  return formatTextReport(verdict);
}
