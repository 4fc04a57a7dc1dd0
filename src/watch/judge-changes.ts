/**
 * The fast path's decision, pure: the engine's filesystem diff against the baseline. The diff is the
 * overlay's upper layer, so on a read-only root anything in it outside the expected paths was
 * written behind the engine's back. Tmpfs contents never appear in it: scan-writable.ts covers those.
 */
import type { FilesystemChange } from '../engines/index.js';
import type { Baseline } from './baseline.js';
import type { ExpectedPaths } from './expected-paths.js';
import type { DriftFinding } from './findings.js';

export function judgeChanges(
  changes: readonly FilesystemChange[],
  context: { baseline: Baseline; expected: ExpectedPaths },
): DriftFinding[] {
  const { baseline, expected } = context;
  const findings: DriftFinding[] = [];
  for (const change of changes) {
    if (expected.classify(change.path) !== 'image') continue;
    const known = baseline.get(change.path);
    switch (change.kind) {
      case 'added':
        findings.push({
          path: change.path,
          change: known ? 'modified' : 'added',
          reason: known ? 'replaced in the upper layer' : 'not in the file manifest',
        });
        break;
      case 'modified':
        findings.push({ path: change.path, change: 'modified', reason: 'modified in the upper layer' });
        break;
      case 'deleted':
        findings.push({ path: change.path, change: 'deleted', reason: 'deleted from the image' });
        break;
      default:
        return assertNever(change.kind);
    }
  }
  // A directory shows as modified when something in it changed: that something is the finding.
  return findings.filter(
    (finding) =>
      !(
        finding.change === 'modified' &&
        baseline.get(finding.path)?.type === 'dir' &&
        findings.some((other) => other.path.startsWith(`${finding.path}/`))
      ),
  );
}

function assertNever(value: never): never {
  throw new Error(`unhandled change kind ${String(value)}`);
}
