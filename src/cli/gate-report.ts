/** A gate verdict as `herd gate --format`, `herd build` and `herd up` print it. */

import type { Verdict } from '../gate/index.js';
import { formatJsonReport, formatSarifReport, formatTextReport } from '../gate/index.js';
import { herdVersion } from './herd-version.js';

export const reportFormats = ['text', 'json', 'sarif'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export function renderReport(verdict: Verdict, format: ReportFormat): string {
  if (format === 'json') return formatJsonReport(verdict);
  if (format === 'sarif') return formatSarifReport(verdict, { toolVersion: herdVersion });
  return formatTextReport(verdict);
}
