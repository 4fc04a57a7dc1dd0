/**
 * Drift evidence: what was found, with hashes and the first bytes of each changed file, as a JSON
 * document attached to the image in the store (an OCI referrer), so it outlives the instance.
 * Building the document is pure; `storeEvidence` is the effect.
 */

import type { InstanceProcess } from '../engines/index.js';
import type { LayoutStore } from '../oci/index.js';
import { attachArtifact, type Descriptor, type Digest, MediaType } from '../oci/index.js';
import type { DriftFinding } from './findings.js';
import type { ProcessFinding } from './judge-processes.js';

export const driftEvidenceArtifactType = 'application/vnd.herd.drift-evidence.v1+json';

/** Per file and in total: evidence is for people and forensics, not a copy of the instance. */
export const evidenceLimits = {
  headBytes: 64 * 1024,
  totalContentBytes: 1024 * 1024,
  findings: 1000,
} as const;

export type DetectionSource = 'fast' | 'deep' | 'exec' | 'manifest' | 'process';

export interface DriftEvidence {
  schemaVersion: 1;
  mediaType: typeof driftEvidenceArtifactType;
  service: string;
  instance: string;
  revision: string;
  /** The image the instance runs, which the evidence is attached to. */
  image: string;
  /** ISO 8601 UTC. */
  detectedAt: string;
  source: DetectionSource;
  /** For exec incidents: what the engine said was run, when it said. */
  exec?: { command?: string };
  /**
   * For process incidents: what was off the allowlist, and the whole sample it was in (the tree by
   * pid and parent, each with its user, command line, executable and its sha256 when readable).
   */
  processes?: { findings: ProcessFinding[]; tree: InstanceProcess[] };
  findings: EvidenceFinding[];
}

export interface EvidenceFinding {
  path: string;
  change: DriftFinding['change'];
  reason: string;
  type?: string;
  mode?: string;
  owner?: string;
  size?: number;
  sha256?: string;
  /** Base64 of the first bytes, within the caps. */
  content?: string;
  /** The content above is only the start of the file. */
  contentTruncated?: boolean;
}

export function evidenceDocument(input: {
  service: string;
  instance: string;
  revision: string;
  image: string;
  detectedAt: number;
  source: DetectionSource;
  findings: readonly DriftFinding[];
  exec?: { command?: string };
  processes?: { findings: readonly ProcessFinding[]; tree: readonly InstanceProcess[] };
}): DriftEvidence {
  let budget: number = evidenceLimits.totalContentBytes;
  const findings = input.findings.slice(0, evidenceLimits.findings).map((finding): EvidenceFinding => {
    const observed = finding.observed;
    const base: EvidenceFinding = { path: finding.path, change: finding.change, reason: finding.reason };
    if (!observed) return base;
    const head = observed.head?.subarray(0, Math.min(evidenceLimits.headBytes, Math.max(0, budget)));
    budget -= head?.length ?? 0;
    return {
      ...base,
      type: observed.type,
      mode: observed.mode.toString(8).padStart(4, '0'),
      owner: `${observed.uid}:${observed.gid}`,
      size: observed.size,
      ...(observed.sha256 ? { sha256: observed.sha256 } : {}),
      ...(head && head.length > 0 ? { content: head.toString('base64') } : {}),
      ...(head && observed.size > head.length ? { contentTruncated: true } : {}),
    };
  });
  return {
    schemaVersion: 1,
    mediaType: driftEvidenceArtifactType,
    service: input.service,
    instance: input.instance,
    revision: input.revision,
    image: input.image,
    detectedAt: new Date(input.detectedAt).toISOString(),
    source: input.source,
    ...(input.exec ? { exec: input.exec } : {}),
    ...(input.processes
      ? {
          processes: {
            findings: input.processes.findings.slice(0, evidenceLimits.findings).map((one) => ({ ...one })),
            tree: input.processes.tree.slice(0, evidenceLimits.findings).map((one) => ({ ...one })),
          },
        }
      : {}),
    findings,
  };
}

/** Attaches the evidence to the image; returns the referrer manifest's descriptor. */
export async function storeEvidence(store: LayoutStore, evidence: DriftEvidence): Promise<Descriptor> {
  const image = evidence.image as Digest;
  const bytes = await store.getBlob(image);
  const subject: Descriptor = { mediaType: MediaType.imageManifest, digest: image, size: bytes.length };
  return attachArtifact(store, subject, {
    artifactType: driftEvidenceArtifactType,
    data: Buffer.from(`${JSON.stringify(evidence, null, 2)}\n`),
    annotations: {
      'dev.herd.instance': evidence.instance,
      'org.opencontainers.image.created': evidence.detectedAt,
    },
  });
}
