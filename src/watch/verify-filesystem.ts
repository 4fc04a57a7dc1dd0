/**
 * One instance's whole filesystem against its image's file manifest: the engine's export hashed as
 * it streams, then the writable paths read through the engine (a tmpfs the export never shows).
 * The integrity monitor's deep path and a candidate's acceptance (src/pipeline) judge the same way.
 */
import type { KeyObject } from 'node:crypto';
import type { Engine } from '../engines/index.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import type { Baseline } from './baseline.js';
import { type ExportVerification, verifyExport } from './deep-verify.js';
import { type ExpectedPaths, expectedPaths, isEngineProvidedFile } from './expected-paths.js';
import type { DriftFinding } from './findings.js';
import { scanWritable } from './scan-writable.js';
import { loadTrustedBaseline } from './trusted-manifest.js';

/** The export and the writable paths of instance `id` against `baseline`; a cut or forged export throws. */
export async function verifyFilesystem(
  engine: Engine,
  id: string,
  context: { baseline: Baseline; expected: ExpectedPaths; headBytes?: number; signal?: AbortSignal },
): Promise<ExportVerification> {
  const { signal } = context;
  const stream = await engine.exportFilesystem(id, signal ? { signal } : {});
  const result = await verifyExport(stream as AsyncIterable<Buffer>, {
    baseline: context.baseline,
    expected: context.expected,
    ...(context.headBytes !== undefined ? { headBytes: context.headBytes } : {}),
  });
  const writable = await scanWritable(engine, id, {
    roots: context.expected.scanned,
    ...(context.headBytes !== undefined ? { headBytes: context.headBytes } : {}),
    ...(signal ? { signal } : {}),
  });
  return { ...result, findings: [...result.findings, ...withoutEngineFiles(writable, context.expected)] };
}

/** The writable scan's findings, less the engine's own files where it mounts them (/run/podman-init). */
export function withoutEngineFiles(findings: DriftFinding[], expected: ExpectedPaths): DriftFinding[] {
  return findings.filter((finding) => !isEngineProvidedFile(finding, expected));
}

export type InstanceFilesVerdict =
  /** The image's signature or its file manifest attestation did not verify: nothing to compare with. */
  | { kind: 'untrusted'; code: string; reason: string }
  /** Compared: no findings means every file is the signed manifest's. */
  | { kind: 'verified'; findings: DriftFinding[]; entries: number; bytes: number; keyFingerprint: string };

/**
 * An instance herd started itself, outside any fleet (a candidate under acceptance), against the
 * file manifest its image's signer attested, verified with `publicKeys`. Nothing is recorded or
 * replaced here: the caller judges the verdict.
 */
export async function verifyInstanceFiles(
  engine: Engine,
  instance: { id: string; digest: Digest; writable: readonly string[] },
  options: { store: LayoutStore; publicKeys: readonly KeyObject[]; signal?: AbortSignal },
): Promise<InstanceFilesVerdict> {
  const trusted = await loadTrustedBaseline(options.store, instance.digest, {
    publicKeys: options.publicKeys,
  });
  if (trusted.kind === 'untrusted') return trusted;
  const result = await verifyFilesystem(engine, instance.id, {
    baseline: trusted.baseline,
    expected: expectedPaths(instance.writable),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { kind: 'verified', ...result, keyFingerprint: trusted.keyFingerprint };
}
