/**
 * The secret scan over an image's files. Pure: a view in, findings and counts out.
 *
 * How strictly a file is scanned depends on who put it there:
 * - app files and every other file no package owns (herd's own, a base image's extras) get every
 *   check: credential file names, private keys, token formats, credential files, URLs, Kubernetes
 *   Secrets, high-entropy assignments;
 * - files a Debian package owns get only the checks that are never a false alarm in a package:
 *   credential file names, private keys and the files named for credentials (`.netrc`, `.npmrc`,
 *   …), and not at all under the documented safe paths (known-safe-paths.ts). Token and entropy
 *   checks over /usr would flag test vectors, sample configs and minified JavaScript by the
 *   hundred, and a package is reviewed by Debian already.
 *
 * Work is bounded: files over `maxFileBytes` and binaries (a NUL byte in the first 8 KiB, as git
 * and grep decide) are not read, only counted. Findings carry the path, line, rule and a
 * fingerprint, never the secret.
 */

import type { RootfsNode } from '../../oci/index.js';
import type { SecretFinding } from '../findings.js';
import type { ImageView } from '../image-view.js';
import { appFileDetectors, packageFileDetectors } from './content-detectors.js';
import { credentialFileKind } from './credential-files.js';
import type { ContentDetector, SecretMatch } from './detector.js';
import { FileText, KeywordIndex } from './keyword-prefilter.js';
import { isKnownSafePackagePath } from './known-safe-paths.js';
import { fingerprintOf } from './placeholders.js';
import { secretRule } from './secret-rules.js';

export const defaultMaxFileBytes = 5 * 1024 * 1024;
const binarySniffBytes = 8192;

export interface SecretScanStats {
  /** Regular files considered. */
  files: number;
  /** Files whose content was read. */
  scanned: number;
  skippedTooLarge: number;
  skippedBinary: number;
  /** Package files under the documented safe paths. */
  skippedKnownSafe: number;
}

export interface SecretScan {
  findings: SecretFinding[];
  stats: SecretScanStats;
}

export interface ScanOptions {
  maxFileBytes?: number;
}

/** Over a view whose files hold their bytes (`data`): memory views, and views read in memory. */
export function scanSecrets(view: ImageView, options: ScanOptions = {}): SecretScan {
  const tally = new ScanTally(view, options);
  const perFile = [...view.files.values()].map((node) => {
    const found: SecretFinding[] = [];
    const set = tally.consider(node, found);
    if (set) found.push(...tally.scanned(node, node.data ?? Buffer.alloc(0), set));
    return found;
  });
  return { findings: perFile.flat(), stats: tally.stats };
}

/**
 * The same scan, reading each file's bytes through `view.contents` as it goes (from the
 * flattened-layer cache), `concurrency` reads at a time: nothing holds more than those files, and
 * binaries the cache's index marks are never read. Findings come out in file order, as scanSecrets's.
 */
export async function scanSecretsStreamed(
  view: ImageView,
  options: ScanOptions & { concurrency?: number } = {},
): Promise<SecretScan> {
  const tally = new ScanTally(view, options);
  const nodes = [...view.files.values()];
  const perFile: SecretFinding[][] = nodes.map(() => []);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < nodes.length; i = next++) {
      const node = nodes[i] as RootfsNode;
      const found: SecretFinding[] = [];
      const set = tally.consider(node, found);
      if (set) found.push(...tally.scanned(node, await view.contents.read(node), set));
      perFile[i] = found;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { findings: perFile.flat(), stats: tally.stats };
}

/** What one scan has counted and found by name; which detectors a file's bytes get. */
class ScanTally {
  readonly stats: SecretScanStats = {
    files: 0,
    scanned: 0,
    skippedTooLarge: 0,
    skippedBinary: 0,
    skippedKnownSafe: 0,
  };
  private readonly view: ImageView;
  private readonly maxFileBytes: number;

  constructor(view: ImageView, options: ScanOptions) {
    this.view = view;
    this.maxFileBytes = options.maxFileBytes ?? defaultMaxFileBytes;
  }

  /**
   * Counts the file and adds to `found` what its name gives away; the detectors its bytes need, or
   * undefined when they are not to be read.
   */
  consider(node: RootfsNode, found: SecretFinding[]): DetectorSet | undefined {
    if (node.type !== 'file') return undefined;
    this.stats.files++;
    const owner = this.view.owners.get(node.path);
    if (owner !== undefined && isKnownSafePackagePath(node.path)) {
      this.stats.skippedKnownSafe++;
      return undefined;
    }
    const kind = credentialFileKind(node.path);
    if (kind !== undefined) found.push(credentialFileFinding(node, { kind, owner }));
    if (node.size > this.maxFileBytes) {
      this.stats.skippedTooLarge++;
      return undefined;
    }
    // The cache's index says whether a file is binary, so its bytes need not be read to know.
    if (node.content?.binary) {
      this.stats.skippedBinary++;
      return undefined;
    }
    return owner === undefined ? appFiles : packageFiles;
  }

  scanned(node: RootfsNode, data: Buffer, set: DetectorSet): SecretFinding[] {
    if (data.subarray(0, binarySniffBytes).includes(0)) {
      this.stats.skippedBinary++;
      return [];
    }
    this.stats.scanned++;
    return scanContent(node.path, data, set);
  }
}

interface DetectorSet {
  detectors: readonly ContentDetector[];
  index: KeywordIndex;
}

const appFiles: DetectorSet = { detectors: appFileDetectors, index: new KeywordIndex(appFileDetectors) };
const packageFiles: DetectorSet = {
  detectors: packageFileDetectors,
  index: new KeywordIndex(packageFileDetectors),
};

function scanContent(path: string, data: Buffer, set: DetectorSet): SecretFinding[] {
  const file = new FileText(data, set.index);
  const detectors = set.detectors;
  const found: { rule: string; match: SecretMatch }[] = [];
  for (const detector of detectors) {
    if (detector.appliesTo && !detector.appliesTo(path)) continue;
    if (!file.mayContain(detector)) continue;
    for (const match of detector.find(file.text, path, file.lowerIfRead))
      found.push({ rule: detector.rule, match });
  }
  const findings: SecretFinding[] = [];
  let lines: LineIndex | undefined;
  const seen = new Set<string>();
  for (const { rule: id, match } of distinct(found)) {
    const fingerprint = fingerprintOf(file.text.slice(match.index, match.index + match.length));
    // Two detectors of one rule (npm's token format, and .npmrc's _authToken) may see the same secret.
    const key = `${id} ${fingerprint}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines ??= new LineIndex(file.text);
    const rule = secretRule(id);
    const line = lines.lineOf(match.index);
    findings.push({
      kind: 'secret',
      rule: rule.id,
      level: 'error',
      message: `${rule.title} in ${path} at line ${line}`,
      location: { path, line },
      fingerprint,
    });
  }
  return findings;
}

/**
 * One finding per secret: a match inside another match of the same rule (a GitLab token's routable
 * form, and its first 20 characters) is dropped, and so is a finding of a rule that judges by
 * context over a secret a rule of its format found: a password in a URL (HERD-S015) or a
 * Kubernetes Secret entry (HERD-S021) that is a GitHub token, a generic assignment (HERD-S011) of
 * a Stripe key. gitleaks drops its generic
 * findings the same way.
 */
function distinct(found: { rule: string; match: SecretMatch }[]): { rule: string; match: SecretMatch }[] {
  // Sorted by start, longest first, so a match inside another comes after it; n log n, whatever a hostile file holds.
  const sorted = [...found].sort((a, b) => a.match.index - b.match.index || b.match.length - a.match.length);
  const reachByRule = new Map<string, number>();
  const kept: { rule: string; match: SecretMatch }[] = [];
  for (const entry of sorted) {
    const end = entry.match.index + entry.match.length;
    if (end <= (reachByRule.get(entry.rule) ?? -1)) continue;
    reachByRule.set(entry.rule, end);
    kept.push(entry);
  }
  let result = kept.filter((entry) => contextRank(entry.rule) === 0);
  for (const rank of [1, 2]) {
    const spans = new SpanSet(result.map((entry) => entry.match));
    result = [
      ...result,
      ...kept.filter((entry) => contextRank(entry.rule) === rank && !spans.overlaps(entry.match)),
    ];
  }
  return result.sort(byPosition);
}

/** 0 for rules that know a secret by its format, then the rules that know it by where it is. */
function contextRank(rule: string): number {
  if (rule === 'HERD-S011') return 2;
  return rule === 'HERD-S015' || rule === 'HERD-S021' ? 1 : 0;
}

/** Spans, and whether a span overlaps any of them, by binary search over their starts. */
class SpanSet {
  private readonly starts: number[];
  /** The furthest end among the spans up to each index. */
  private readonly reach: number[] = [];

  constructor(spans: SecretMatch[]) {
    const sorted = [...spans].sort((a, b) => a.index - b.index);
    this.starts = sorted.map((span) => span.index);
    for (const [i, span] of sorted.entries()) {
      this.reach.push(Math.max(this.reach[i - 1] ?? -1, span.index + span.length));
    }
  }

  overlaps(span: SecretMatch): boolean {
    // The last span starting before this one ends.
    let low = 0;
    let high = this.starts.length - 1;
    let last = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.starts[mid] ?? 0) < span.index + span.length) {
        last = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return last >= 0 && (this.reach[last] ?? -1) > span.index;
  }
}

/** By place in the file. */
function byPosition(
  a: { rule: string; match: SecretMatch },
  b: { rule: string; match: SecretMatch },
): number {
  return a.match.index - b.match.index;
}

function credentialFileFinding(
  node: RootfsNode,
  context: { kind: string; owner: string | undefined },
): SecretFinding {
  const rule = secretRule('HERD-S010');
  return {
    kind: 'secret',
    rule: rule.id,
    level: 'error',
    message: `${node.path} is ${context.kind}, a credential file by its name`,
    location: { path: node.path, ...(context.owner ? { package: context.owner } : {}) },
  };
}

/** Line numbers by binary search over the offsets where lines start. */
class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  /** 1-based. */
  lineOf(index: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= index) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }
}
