/**
 * The secret scan over an image's files. Pure: a view in, findings and counts out.
 *
 * How strictly a file is scanned depends on who put it there:
 * - app files and every other file no package owns (herd's own, a base image's extras) get every
 *   check: credential file names, private keys, token formats, high-entropy assignments;
 * - files a Debian package owns get only the checks that are never a false alarm in a package:
 *   credential file names and private keys, and not at all under the documented safe paths
 *   (known-safe-paths.ts). Token and entropy checks over /usr would flag test vectors, sample
 *   configs and minified JavaScript by the hundred, and a package is reviewed by Debian already.
 *
 * Work is bounded: files over `maxFileBytes` and binaries (a NUL byte in the first 8 KiB, as git
 * and grep decide) are not read, only counted. Findings carry the path, line, rule and a
 * fingerprint, never the secret.
 */
import { createHash } from 'node:crypto';
import type { SecretFinding } from '../findings.js';
import type { RootfsNode } from '../flatten-layers.js';
import type { ImageView } from '../image-view.js';
import { type ContentDetector, contentDetectors, privateKeyDetector } from './content-detectors.js';
import { credentialFileKind } from './credential-files.js';
import { findHighEntropyAssignments, isConfigFile } from './high-entropy-assignments.js';
import { isKnownSafePackagePath } from './known-safe-paths.js';
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

const assignmentDetector: ContentDetector = {
  rule: 'HERD-S011',
  hint: /[:=]/,
  appliesTo: isConfigFile,
  find: findHighEntropyAssignments,
};

const appFileDetectors = [...contentDetectors, assignmentDetector];
const packageFileDetectors = [privateKeyDetector];

export function scanSecrets(view: ImageView, options: { maxFileBytes?: number } = {}): SecretScan {
  const maxFileBytes = options.maxFileBytes ?? defaultMaxFileBytes;
  const findings: SecretFinding[] = [];
  const stats: SecretScanStats = {
    files: 0,
    scanned: 0,
    skippedTooLarge: 0,
    skippedBinary: 0,
    skippedKnownSafe: 0,
  };
  for (const node of view.files.values()) {
    if (node.type !== 'file') continue;
    stats.files++;
    const owner = view.owners.get(node.path);
    if (owner !== undefined && isKnownSafePackagePath(node.path)) {
      stats.skippedKnownSafe++;
      continue;
    }
    const kind = credentialFileKind(node.path);
    if (kind !== undefined) findings.push(credentialFileFinding(node, { kind, owner }));
    const data = node.data ?? Buffer.alloc(0);
    if (data.length > maxFileBytes) {
      stats.skippedTooLarge++;
      continue;
    }
    if (data.subarray(0, binarySniffBytes).includes(0)) {
      stats.skippedBinary++;
      continue;
    }
    stats.scanned++;
    const detectors = owner === undefined ? appFileDetectors : packageFileDetectors;
    findings.push(...scanContent(node.path, data, detectors));
  }
  return { findings, stats };
}

function scanContent(path: string, data: Buffer, detectors: readonly ContentDetector[]): SecretFinding[] {
  const findings: SecretFinding[] = [];
  let decoded: string | undefined;
  const textOf = () => {
    decoded ??= data.toString('utf8');
    return decoded;
  };
  let lines: LineIndex | undefined;
  const seen = new Set<string>();
  for (const detector of detectors) {
    if (detector.appliesTo && !detector.appliesTo(path)) continue;
    // A string hint is looked for in the bytes, so most files are never decoded.
    const hinted =
      typeof detector.hint === 'string' ? data.includes(detector.hint) : detector.hint.test(textOf());
    if (!hinted) continue;
    const text = textOf();
    for (const match of detector.find(text, path)) {
      const secret = text.slice(match.index, match.index + match.length);
      const fingerprint = createHash('sha256').update(secret).digest('hex').slice(0, 16);
      // Two detectors of one rule (npm's token format, and .npmrc's _authToken) may see the same secret.
      const key = `${detector.rule} ${fingerprint}`;
      if (seen.has(key)) continue;
      seen.add(key);
      lines ??= new LineIndex(text);
      const rule = secretRule(detector.rule);
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
  }
  return findings;
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
