/**
 * The deep path: an instance's whole exported filesystem, hashed as it streams, against its
 * baseline. A stream that is cut, forged or beyond the limits throws (WatchError): only an archive
 * read to its end-of-archive block can pass.
 */
import type { Baseline } from './baseline.js';
import type { ExpectedPaths } from './expected-paths.js';
import type { DriftFinding } from './findings.js';
import { judgeExportEntry, missingFromExport } from './judge-export.js';
import { readEntries } from './read-entries.js';

export interface ExportVerification {
  findings: DriftFinding[];
  entries: number;
  /** Bytes of file data hashed. */
  bytes: number;
}

export async function verifyExport(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  context: { baseline: Baseline; expected: ExpectedPaths; headBytes?: number; maxFindings?: number },
): Promise<ExportVerification> {
  const maxFindings = context.maxFindings ?? 1000;
  const findings: DriftFinding[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  const read = await readEntries(
    source,
    (entry, observed) => {
      seen.add(entry.path);
      const finding = judgeExportEntry(entry.path, observed, context);
      if (!finding) return;
      // Evidence heads only for what is kept: an export full of changes must not fill memory.
      if (findings.length < maxFindings) findings.push(finding);
      else dropped++;
    },
    {
      headBytes: context.headBytes ?? 0,
      // Writable paths are the workload's own; their bytes are not the image's business.
      hash: (entry) => context.expected.classify(entry.path) !== 'writable',
    },
  );
  const missing = missingFromExport(seen, context);
  findings.push(...missing.slice(0, Math.max(0, maxFindings - findings.length)));
  dropped += Math.max(0, missing.length - (maxFindings - (findings.length - missing.length)));
  if (dropped > 0) {
    findings.push({ path: '/', change: 'modified', reason: `${dropped} more findings left out` });
  }
  return { findings, ...read };
}
