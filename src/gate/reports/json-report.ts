/** The verdict as JSON, exactly as stored with the image, indented for people and diffs. */
import type { Verdict } from '../verdict.js';

export function formatJsonReport(verdict: Verdict): string {
  return `${JSON.stringify(verdict, null, 2)}\n`;
}
