/**
 * The pure decisions of `check`: which attributes of an entry changed, whether a file's recorded
 * hash can be trusted without reading it again, and AIDE's exit bitmask.
 */
import { type ComparedAttribute, comparedAttributes, type FimEntry } from './fim-entry.js';

export type FimChange =
  | { kind: 'added'; entry: FimEntry }
  | { kind: 'removed'; entry: FimEntry }
  | { kind: 'changed'; before: FimEntry; after: FimEntry; attributes: ComparedAttribute[] };

export interface FimSummary {
  added: number;
  removed: number;
  changed: number;
}

/**
 * The compared attributes that differ. `xattrs` is compared only when `compareXattrs` (both sides
 * recorded them). A file that could not be hashed on either side counts as a changed sha256: an
 * unverifiable file never checks clean.
 */
export function changedAttributes(
  before: FimEntry,
  after: FimEntry,
  options: { compareXattrs: boolean },
): ComparedAttribute[] {
  const changed: ComparedAttribute[] = [];
  for (const attribute of comparedAttributes) {
    switch (attribute) {
      case 'sha256':
        if (
          before.sha256 !== after.sha256 ||
          before.unreadable !== undefined ||
          after.unreadable !== undefined
        ) {
          if (before.type === 'file' || after.type === 'file') changed.push(attribute);
        }
        break;
      case 'xattrs':
        if (options.compareXattrs && !sameXattrs(before.xattrs, after.xattrs)) changed.push(attribute);
        break;
      default:
        if (before[attribute] !== after[attribute]) changed.push(attribute);
    }
  }
  return changed;
}

/**
 * Whether a fast `check` may reuse the baseline's hash instead of reading the file. Writing a file
 * always moves its ctime, which only the kernel sets (see README.md for what this does not cover).
 */
export function mayReuseHash(before: FimEntry, now: Omit<FimEntry, 'sha256'>): boolean {
  return (
    before.type === 'file' &&
    now.type === 'file' &&
    before.sha256 !== undefined &&
    before.unreadable === undefined &&
    before.size === now.size &&
    before.mtime === now.mtime &&
    before.ctime === now.ctime &&
    before.ino === now.ino
  );
}

export function countChange(summary: FimSummary, change: FimChange): void {
  summary[change.kind] += 1;
}

function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const left = Object.entries(a ?? {});
  const right = b ?? {};
  if (left.length !== Object.keys(right).length) return false;
  return left.every(([name, value]) => right[name] === value);
}
