import type { RootfsNode } from '../../oci/index.js';
import type { FileManifestEntry } from '../image-view.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/** Enough to see what is wrong; the count says how much more there is. */
const maxListed = 20;

/**
 * The file manifest is the baseline that integrity monitoring holds running instances to, and the
 * record of what was reviewed. If it disagrees with the layers, either could be the lie: the gate
 * judges the layers (what runs) and fails the image until the two agree again.
 *
 * Compared: the set of paths, type, mode, owner, size and link target, which is what the gate's
 * own rules rely on (a manifest hiding a setuid bit shows here). Content digests are not
 * recomputed: hashing every byte of the image costs more than the rest of the gate together,
 * the layer digests already bind the content, and a wrong digest surfaces as drift at once.
 */
export const fileManifestMatchesLayers: HardeningRule = {
  id: 'HERD-H013',
  name: 'file-manifest-matches-layers',
  title: 'The attached file manifest matches the layers',
  severity: 'error',
  rationale:
    'Drift detection compares running instances with the file manifest. A manifest that differs from the layers would hide changes, or raise false drift, for the whole life of the image.',
  references: [],
  profiles: everyProfile,
  check({ view }) {
    if (view.fileManifest.kind === 'missing') {
      return [
        {
          message: 'no file manifest is attached, so integrity monitoring has no baseline for this image',
          location: { setting: 'referrers' },
          level: 'warning',
        },
      ];
    }
    const results: RuleResult[] = [];
    const listed = new Set<string>();
    for (const entry of view.fileManifest.entries) {
      listed.add(entry.path);
      const difference = differenceOf(entry, view.files.get(entry.path));
      if (difference)
        results.push({ message: `${entry.path}: ${difference}`, location: { path: entry.path } });
    }
    for (const path of view.files.keys()) {
      if (!listed.has(path))
        results.push({ message: `${path}: in the layers but not in the file manifest`, location: { path } });
    }
    if (results.length <= maxListed) return results;
    return [
      ...results.slice(0, maxListed),
      { message: `${results.length - maxListed} more paths differ between the file manifest and the layers` },
    ];
  },
};

function differenceOf(entry: FileManifestEntry, node: RootfsNode | undefined): string | undefined {
  if (!node) return 'in the file manifest but not in the layers';
  if (entry.type !== node.type) return `the manifest says ${entry.type}, the layers hold a ${node.type}`;
  if (entry.mode !== node.mode)
    return `mode ${octal(entry.mode)} in the manifest, ${octal(node.mode)} in the layers`;
  if (entry.uid !== node.uid || entry.gid !== node.gid) {
    return `owner ${entry.uid}:${entry.gid} in the manifest, ${node.uid}:${node.gid} in the layers`;
  }
  if (entry.type === 'symlink' && entry.target !== node.target) {
    return `link target ${JSON.stringify(entry.target)} in the manifest, ${JSON.stringify(node.target)} in the layers`;
  }
  if (entry.type === 'file' && entry.size !== node.size) {
    return `${entry.size} bytes in the manifest, ${node.size} in the layers`;
  }
  return undefined;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
