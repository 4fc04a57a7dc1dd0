/**
 * The deep path's decisions, pure: one exported entry against its baseline entry, and the baseline
 * entries the export never showed. Ownership, mode, type, size, sha256 and link target must match;
 * times are ignored (the engine stamps mount points with the start time).
 */
import type { Baseline, FileManifestEntry } from './baseline.js';
import type { ExpectedPaths } from './expected-paths.js';
import type { DriftFinding, ObservedFile } from './findings.js';

export function judgeExportEntry(
  path: string,
  observed: ObservedFile,
  context: { baseline: Baseline; expected: ExpectedPaths },
): DriftFinding | undefined {
  const pathClass = context.expected.classify(path);
  if (pathClass === 'writable') return undefined;
  const known = context.baseline.get(path);
  if (pathClass === 'engine') {
    // A bind-mount placeholder is an empty file or a directory; anything else must be the image's own.
    if (!known || observed.type === 'dir' || (observed.type === 'file' && observed.size === 0))
      return undefined;
  }
  if (!known) {
    return { path, change: 'added', reason: `${observed.type} not in the file manifest`, observed };
  }
  const difference = differenceOf(known, observed);
  return difference ? { path, change: 'modified', reason: difference, observed } : undefined;
}

/** Baseline paths the export did not hold, outside the expected paths. */
export function missingFromExport(
  seen: ReadonlySet<string>,
  context: { baseline: Baseline; expected: ExpectedPaths },
): DriftFinding[] {
  const findings: DriftFinding[] = [];
  for (const entry of context.baseline.values()) {
    if (seen.has(entry.path) || entry.path === '/') continue;
    if (context.expected.classify(entry.path) !== 'image') continue;
    findings.push({ path: entry.path, change: 'deleted', reason: `${entry.type} missing from the export` });
  }
  return findings;
}

function differenceOf(known: FileManifestEntry, observed: ObservedFile): string | undefined {
  if (known.type !== observed.type) return `type ${observed.type}, manifest says ${known.type}`;
  if (known.mode !== observed.mode) {
    return `mode ${observed.mode.toString(8)}, manifest says ${known.mode.toString(8)}`;
  }
  if (known.uid !== observed.uid || known.gid !== observed.gid) {
    return `owner ${observed.uid}:${observed.gid}, manifest says ${known.uid}:${known.gid}`;
  }
  if (known.type === 'file') {
    if (known.size !== observed.size) return `size ${observed.size}, manifest says ${known.size}`;
    if (known.sha256 !== observed.sha256) return 'sha256 differs from the manifest';
  }
  if (known.type === 'symlink' && (known.target ?? '') !== (observed.target ?? '')) {
    return `link target ${observed.target}, manifest says ${known.target}`;
  }
  return undefined;
}
